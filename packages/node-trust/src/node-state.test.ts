// Tests of the desired node state's validation.
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../test/certificates.js";
import { InvalidNodeStateError } from "./errors.js";
import { parseNodeTrustState } from "./node-state.js";

let certificates: TestCertificates;
beforeAll(async () => {
  certificates = await makeTestCertificates();
});

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseNodeTrustState(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidNodeStateError);
    expect((error as InvalidNodeStateError).code).toBe("NODE_TRUST_INVALID_STATE");
    return [...(error as InvalidNodeStateError).issues];
  }
  throw new Error("expected the state to be rejected");
}

const mirror = {
  name: "hub",
  endpoint: "https://cache.example:5000",
  registries: [{ host: "docker.io" }],
};

describe("parseNodeTrustState", () => {
  it("fills in the defaults: containerd only, a 3s dial timeout, no skip_verify", () => {
    const state = parseNodeTrustState({ mirrors: [mirror] });
    expect(state.runtimes).toEqual(["containerd"]);
    expect(state.mirrors[0]).toMatchObject({ skipVerify: false, dialTimeout: "3s", headers: {} });
  });

  it.each([
    [
      { ...mirror, registries: [{ host: "docker_io" }] },
      "mirrors[0].registries[0].host",
      "not a valid host name",
    ],
    [
      { ...mirror, registries: [{ host: "docker.io:70000" }] },
      "mirrors[0].registries[0].host",
      "not a valid port",
    ],
    [
      { ...mirror, registries: [{ host: "docker.io:" }] },
      "mirrors[0].registries[0].host",
      "not a valid port",
    ],
    [{ ...mirror, endpoint: "https://cache.example:0" }, "mirrors[0].endpoint", "not a valid port"],
    [
      { ...mirror, endpoint: "https://cache.example/v2/../../etc" },
      "mirrors[0].endpoint",
      '".." path segment',
    ],
    [
      { ...mirror, endpoint: "https://cache.example/v2/%2e%2e/x" },
      "mirrors[0].endpoint",
      '".." path segment',
    ],
    [
      { ...mirror, endpoint: "https://cache.example/library" },
      "mirrors[0].endpoint",
      "start with /v2",
    ],
    [{ ...mirror, endpoint: "ftp://cache.example" }, "mirrors[0].endpoint", "http:// or https://"],
    [
      { ...mirror, endpoint: "https://user:pw@cache.example" },
      "mirrors[0].endpoint",
      "credentials",
    ],
    [{ ...mirror, caPem: "not a certificate" }, "mirrors[0].caPem", "is not PEM"],
    [
      { ...mirror, caPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" },
      "mirrors[0].caPem",
      "not a valid X.509 certificate",
    ],
    [{ ...mirror, name: "Hub_Cache" }, "mirrors[0].name", "DNS label"],
    [{ ...mirror, dialTimeout: "10m" }, "mirrors[0].dialTimeout", "dial timeout"],
    [
      { ...mirror, headers: { "Bad Header": "x" } },
      "mirrors[0].headers.Bad Header",
      "not a valid header name",
    ],
    [
      { ...mirror, headers: { "X-Ok": "a\r\nInjected: yes" } },
      "mirrors[0].headers.X-Ok",
      "line breaks",
    ],
    [
      { ...mirror, endpoint: "http://cache.example", skipVerify: true },
      "mirrors[0].endpoint",
      "https:// endpoint",
    ],
    [{ ...mirror, unknownKey: 1 }, "mirrors[0]", "unknownKey"],
  ])("rejects %j at %s", (badMirror, path, message) => {
    const issues = issuesOf({ mirrors: [badMirror] });
    expect(issues).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it.each([
    [{ endpoint: "ftp://user:hunter2@cache.example" }, '"ftp://<redacted>@cache.example"'],
    [{ endpoint: "https://cache.example/?token=hunter2" }, '"https://cache.example/?<redacted>"'],
    [{ endpoint: "https://cache.example/#hunter2" }, '"https://cache.example/#<redacted>"'],
    [
      {
        registries: [{ host: "docker.io", server: "https://r.example/v2?X-Amz-Signature=hunter2" }],
      },
      '"https://r.example/v2?<redacted>"',
    ],
  ])("never repeats a credential, token or signature of a refused URL: %j", (change, shown) => {
    const issues = issuesOf({ mirrors: [{ ...mirror, ...change }] });
    expect(JSON.stringify(issues)).not.toContain("hunter2");
    expect(issues.map((issue) => issue.message).join("\n")).toContain(shown);
  });

  it("rejects a client key that is not PEM, or not the certificate's, without repeating key material", () => {
    const notPem = issuesOf({
      mirrors: [
        {
          ...mirror,
          clientCertificatePem: certificates.client.certificatePem,
          clientKeyPem: "secret-stuff",
        },
      ],
    });
    expect(notPem).toContainEqual({
      path: "mirrors[0].clientKeyPem",
      message: expect.stringContaining("not PEM"),
    });
    expect(JSON.stringify(notPem)).not.toContain("secret-stuff");
    const mismatch = issuesOf({
      mirrors: [
        {
          ...mirror,
          clientCertificatePem: certificates.client.certificatePem,
          clientKeyPem: certificates.otherClient.keyPem,
        },
      ],
    });
    expect(mismatch).toEqual([
      { path: "mirrors[0].clientKeyPem", message: "does not match clientCertificatePem" },
    ]);
    const alone = issuesOf({
      mirrors: [{ ...mirror, clientCertificatePem: certificates.client.certificatePem }],
    });
    expect(alone).toContainEqual({
      path: "mirrors[0].clientKeyPem",
      message: expect.stringContaining("go together"),
    });
  });

  it("rejects bad hosts-file entries, duplicate names and unknown runtimes", () => {
    expect(
      issuesOf({
        runtimes: ["hosts-file"],
        hostsFileEntries: [{ host: "mirror..local", ip: "10.0.0.1" }],
      }),
    ).toContainEqual({
      path: "hostsFileEntries[0].host",
      message: expect.stringContaining("host name"),
    });
    expect(
      issuesOf({
        runtimes: ["hosts-file"],
        hostsFileEntries: [{ host: "m.local", ip: "10.0.0.300" }],
      }),
    ).toContainEqual({
      path: "hostsFileEntries[0].ip",
      message: expect.stringContaining("IPv4 or IPv6"),
    });
    expect(issuesOf({ hostsFileEntries: [{ host: "m.local", ip: "10.0.0.3" }] })).toContainEqual({
      path: "hostsFileEntries",
      message: expect.stringContaining('"hosts-file" is not in runtimes'),
    });
    expect(issuesOf({ mirrors: [mirror, { ...mirror }] })).toContainEqual({
      path: "mirrors[1].name",
      message: expect.stringContaining("used by two mirrors"),
    });
    expect(issuesOf({ runtimes: ["podman"] })[0]?.path).toBe("runtimes[0]");
    expect(
      issuesOf({
        mirrors: [
          { ...mirror, caPem: certificates.caPem },
          {
            ...mirror,
            name: "hub-2",
            endpoint: "https://cache.example:5000/v2/ghcr.io",
            caPem: certificates.otherCaPem,
          },
        ],
      }),
    ).toContainEqual({
      path: "mirrors[1].endpoint",
      message: expect.stringContaining('shares cache.example:5000 with mirror "hub"'),
    });
  });
});
