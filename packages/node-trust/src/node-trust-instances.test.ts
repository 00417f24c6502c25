// Tests of several appliers (one per mirror) on one node.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDirectory, removeTempDirectory, snapshotTree } from "@regmirror/test-kit";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../test/certificates.js";
import { InvalidOptionsError } from "./errors.js";
import type { NodeTrustStateInput } from "./node-state.js";
import { createNodeTrustApplier, type NodeTrustApplier } from "./node-trust-applier.js";

// Two node agents (one per mirror) on one node: each applier is named by an instance, so each
// keeps its own ownership record and its own /etc/hosts block and never touches the other's.

let certificates: TestCertificates;
let root: string;

const personHosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n# kept by hand\n";

beforeAll(async () => {
  certificates = await makeTestCertificates();
});

beforeEach(async () => {
  root = makeTempDirectory("node-trust-instances-");
  await mkdir(join(root, "etc/containerd"), { recursive: true });
  await writeFile(
    join(root, "etc/containerd/config.toml"),
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
  );
  await writeFile(join(root, "etc/hosts"), personHosts);
});

afterEach(async () => {
  await removeTempDirectory(root);
});

function mirrorState(name: string, registry: string, ip: string): NodeTrustStateInput {
  const host = `regmirror-${name}.regmirror.svc`;
  return {
    runtimes: ["containerd", "docker", "crio", "hosts-file"],
    mirrors: [
      {
        name,
        endpoint: `https://${host}:5443`,
        registries: [{ host: registry }],
        caPem: certificates.caPem,
      },
    ],
    hostsFileEntries: [{ host, ip }],
  };
}

const hubState = () => mirrorState("hub", "docker.io", "10.96.0.10");
const ghcrState = () => mirrorState("ghcr", "ghcr.io", "10.96.0.11");

const hubBlock =
  "# BEGIN regmirror node-trust hub (managed by the regmirror node agent)\n" +
  "10.96.0.10\tregmirror-hub.regmirror.svc\n# END regmirror node-trust hub\n";
const ghcrBlock =
  "# BEGIN regmirror node-trust ghcr (managed by the regmirror node agent)\n" +
  "10.96.0.11\tregmirror-ghcr.regmirror.svc\n# END regmirror node-trust ghcr\n";

async function expectOwnFilesPresent(applier: NodeTrustApplier): Promise<void> {
  const owned = (await applier.managedFiles()).filter((path) => path !== "/etc/hosts");
  expect(owned.length).toBeGreaterThan(0);
  for (const path of owned) await readFile(join(root, path));
}

describe("node trust appliers of two instances on one node", () => {
  it("keep each other's files and hosts blocks, and together leave the node as it was", async () => {
    const before = await snapshotTree(root);
    const hub = createNodeTrustApplier({ root, instance: "hub" });
    const ghcr = createNodeTrustApplier({ root, instance: "ghcr" });
    expect((await hub.apply(hubState())).status).toBe("changed");
    const second = await ghcr.apply(ghcrState());
    expect(second.status).toBe("changed");
    expect(second.conflicts).toEqual([]);
    // Applying again changes nothing: neither sees the other's files or block as its own.
    expect((await hub.apply(hubState())).status).toBe("unchanged");
    expect((await ghcr.apply(ghcrState())).status).toBe("unchanged");

    expect(await readFile(join(root, "etc/hosts"), "utf8")).toBe(
      `${personHosts}${hubBlock}${ghcrBlock}`,
    );
    await readFile(join(root, "var/lib/regmirror/node-trust-hub.json"));
    await readFile(join(root, "var/lib/regmirror/node-trust-ghcr.json"));
    await readFile(join(root, "etc/containerd/certs.d/docker.io/hosts.toml"));
    await readFile(join(root, "etc/containerd/certs.d/ghcr.io/hosts.toml"));
    await readFile(join(root, "etc/containers/registries.conf.d/50-regmirror-hub.conf"));
    await readFile(join(root, "etc/containers/registries.conf.d/50-regmirror-ghcr.conf"));
    await expectOwnFilesPresent(hub);
    await expectOwnFilesPresent(ghcr);

    // Removing one leaves the other's files and block exactly in place.
    const ghcrFiles = await ghcr.managedFiles();
    expect((await ghcr.remove()).status).toBe("removed");
    expect(await readFile(join(root, "etc/hosts"), "utf8")).toBe(`${personHosts}${hubBlock}`);
    for (const path of ghcrFiles.filter((path) => path !== "/etc/hosts")) {
      await expect(readFile(join(root, path))).rejects.toMatchObject({ code: "ENOENT" });
    }
    await expectOwnFilesPresent(hub);
    expect((await hub.apply(hubState())).status).toBe("unchanged");

    expect((await hub.remove()).status).toBe("removed");
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("leave the other's files and block when the first one applied is removed first", async () => {
    const before = await snapshotTree(root);
    const hub = createNodeTrustApplier({ root, instance: "hub" });
    const ghcr = createNodeTrustApplier({ root, instance: "ghcr" });
    await hub.apply(hubState());
    await ghcr.apply(ghcrState());
    expect((await hub.remove()).status).toBe("removed");
    expect(await readFile(join(root, "etc/hosts"), "utf8")).toBe(`${personHosts}${ghcrBlock}`);
    await expectOwnFilesPresent(ghcr);
    expect((await ghcr.apply(ghcrState())).status).toBe("unchanged");
    expect((await ghcr.remove()).status).toBe("removed");
    // Every file is as before. Directories hub created and ghcr then used were handed over
    // (see pruneDirectories), so in this order they stay behind, empty.
    const filesOnly = (tree: Record<string, string>) =>
      Object.fromEntries(Object.entries(tree).filter(([, kind]) => !kind.startsWith("directory")));
    expect(filesOnly(await snapshotTree(root))).toEqual(filesOnly(before));
  });

  it("refuses a bad instance name with a typed error, writing nothing", async () => {
    const before = await snapshotTree(root);
    for (const instance of ["Hub", "hub.example", "-hub", "", "a".repeat(64), "../x", 5]) {
      expect(() => createNodeTrustApplier({ root, instance: instance as never })).toThrow(
        InvalidOptionsError,
      );
    }
    expect(() => createNodeTrustApplier({ root, instance: "hub/../x" })).toThrow(
      /instance: "hub\/\.\.\/x" is not a DNS label/,
    );
    expect(await snapshotTree(root)).toEqual(before);
  });
});
