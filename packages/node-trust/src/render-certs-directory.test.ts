// Tests of the Docker and CRI-O certs.d files.
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../test/certificates.js";
import { standardNodeFileLayout } from "../test/node-file-layout.js";
import { parseNodeTrustState } from "./node-state.js";
import { planNodeFiles } from "./plan-node-files.js";

let certificates: TestCertificates;
beforeAll(async () => {
  certificates = await makeTestCertificates();
});

const layout = standardNodeFileLayout;

describe("certs.d files for Docker and CRI-O", () => {
  it("puts ca.crt and the client pair under the mirror's host:port, readable as PEM", () => {
    const state = parseNodeTrustState({
      runtimes: ["docker", "crio"],
      mirrors: [
        {
          name: "hub",
          endpoint: "https://cache.example:5443/v2/docker.io",
          registries: [{ host: "docker.io" }],
          caPem: `comment before the block\n${certificates.caPem}`,
          clientCertificatePem: certificates.client.certificatePem,
          clientKeyPem: certificates.client.keyPem,
        },
        // Port 443 is the default: the directory is the bare host name, as Docker looks it up.
        {
          name: "plain",
          endpoint: "https://cache2.example:443",
          registries: [{ host: "ghcr.io" }],
          caPem: certificates.otherCaPem,
        },
      ],
    });
    const files = planNodeFiles(state, layout).files;
    const byPath = new Map(files.map((file) => [file.path, file]));
    expect([...byPath.keys()].sort()).toEqual([
      "/etc/containers/certs.d/cache.example:5443/ca.crt",
      "/etc/containers/certs.d/cache.example:5443/client.cert",
      "/etc/containers/certs.d/cache.example:5443/client.key",
      "/etc/containers/certs.d/cache2.example/ca.crt",
      "/etc/containers/registries.conf.d/50-regmirror.conf",
      "/etc/docker/certs.d/cache.example:5443/ca.crt",
      "/etc/docker/certs.d/cache.example:5443/client.cert",
      "/etc/docker/certs.d/cache.example:5443/client.key",
      "/etc/docker/certs.d/cache2.example/ca.crt",
    ]);
    const ca = byPath.get("/etc/docker/certs.d/cache.example:5443/ca.crt");
    expect(ca?.content).not.toContain("comment before the block");
    expect(new X509Certificate(ca?.content ?? "").subject).toContain("node-trust test mirror CA");
    expect(byPath.get("/etc/docker/certs.d/cache.example:5443/client.key")?.mode).toBe(0o600);
    expect(byPath.get("/etc/docker/certs.d/cache.example:5443/client.key")?.content).toContain(
      certificates.client.keyPem.trim(),
    );
  });
});
