// Tests of containerd hosts.toml files, parsed back with smol-toml.
import { parse } from "smol-toml";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../test/certificates.js";
import { parseNodeTrustState } from "./node-state.js";
import { renderContainerdHostsToml } from "./render-containerd-hosts.js";

let certificates: TestCertificates;
beforeAll(async () => {
  certificates = await makeTestCertificates();
});

function mirrorsOf(input: unknown) {
  return parseNodeTrustState(input).mirrors;
}

describe("renderContainerdHostsToml", () => {
  it("lists the mirror with pull/resolve, its CA and a dial timeout, and the upstream as server", () => {
    const mirrors = mirrorsOf({
      mirrors: [
        {
          name: "hub-cache",
          endpoint: "https://cache.regmirror.svc:5443",
          registries: [{ host: "docker.io" }],
          caPem: certificates.caPem,
          dialTimeout: "2s",
        },
      ],
    });
    const [mirror] = mirrors;
    const registry = mirror?.registries[0];
    if (!mirror || !registry) throw new Error("fixture");
    const text = renderContainerdHostsToml(registry, mirrors);
    expect(text.startsWith("# Written by regmirror node-trust")).toBe(true);
    expect(parse(text)).toEqual({
      server: "https://registry-1.docker.io",
      host: {
        "https://cache.regmirror.svc:5443": {
          capabilities: ["pull", "resolve"],
          ca: "regmirror-hub-cache-ca.crt",
          dial_timeout: "2s",
        },
      },
    });
  });

  it("adds override_path for an endpoint with a path, client pair, skip_verify and headers only when asked", () => {
    const mirrors = mirrorsOf({
      mirrors: [
        {
          name: "first",
          endpoint: "https://10.0.0.7:5000/v2/ghcr.io/",
          registries: [{ host: "ghcr.io" }],
          clientCertificatePem: certificates.client.certificatePem,
          clientKeyPem: certificates.client.keyPem,
          skipVerify: true,
          headers: { "X-Tenant": "blue", Accept: ["a", 'b "quoted"'] },
        },
        {
          name: "second",
          endpoint: "http://backup.example:8080",
          registries: [{ host: "ghcr.io", server: "https://ghcr.io" }],
        },
      ],
    });
    const registry = mirrors[0]?.registries[0];
    if (!registry) throw new Error("fixture");
    const text = renderContainerdHostsToml(registry, mirrors);
    const parsed = parse(text) as { server: string; host: Record<string, Record<string, unknown>> };
    expect(parsed.server).toBe("https://ghcr.io");
    // Mirror order is the order containerd tries them in.
    expect(Object.keys(parsed.host)).toEqual([
      "https://10.0.0.7:5000/v2/ghcr.io",
      "http://backup.example:8080",
    ]);
    expect(parsed.host["https://10.0.0.7:5000/v2/ghcr.io"]).toEqual({
      capabilities: ["pull", "resolve"],
      client: [["regmirror-first-client.cert", "regmirror-first-client.key"]],
      skip_verify: true,
      override_path: true,
      dial_timeout: "3s",
      header: { Accept: ["a", 'b "quoted"'], "X-Tenant": ["blue"] },
    });
    expect(parsed.host["http://backup.example:8080"]).toEqual({
      capabilities: ["pull", "resolve"],
      dial_timeout: "3s",
    });
  });

  it("uses https://<host> as the server of a registry without one", () => {
    const mirrors = mirrorsOf({
      mirrors: [
        { name: "m", endpoint: "https://m.example", registries: [{ host: "quay.io:8443" }] },
      ],
    });
    const registry = mirrors[0]?.registries[0];
    if (!registry) throw new Error("fixture");
    expect(parse(renderContainerdHostsToml(registry, mirrors)).server).toBe("https://quay.io:8443");
  });
});
