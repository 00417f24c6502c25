// Tests of the applier on a temporary root: idempotence, conflicts, take-over, restore.
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDirectory, removeTempDirectory, snapshotTree } from "@regmirror/test-kit";
import { parse } from "smol-toml";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../test/certificates.js";
import { InvalidNodeStateError, InvalidOptionsError, OwnershipRecordError } from "./errors.js";
import type { NodeTrustStateInput } from "./node-state.js";
import { createNodeTrustApplier } from "./node-trust-applier.js";

let certificates: TestCertificates;
let root: string;

beforeAll(async () => {
  certificates = await makeTestCertificates();
});

const personHosts =
  "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n# kept by hand\n10.1.1.1 nas";

/** A small node: a containerd v2 config with config_path, an /etc/hosts, someone's own files. */
async function makeNodeRoot(): Promise<string> {
  const directory = makeTempDirectory("node-trust-root-");
  await mkdir(join(directory, "etc/containerd/certs.d/quay.io"), { recursive: true });
  await writeFile(
    join(directory, "etc/containerd/config.toml"),
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
  );
  await writeFile(
    join(directory, "etc/containerd/certs.d/quay.io/hosts.toml"),
    'server = "https://quay.io"\n',
  );
  await writeFile(join(directory, "etc/hosts"), personHosts);
  await chmod(join(directory, "etc/hosts"), 0o640);
  return directory;
}

function fullState(overrides: Partial<NodeTrustStateInput> = {}): NodeTrustStateInput {
  return {
    runtimes: ["containerd", "docker", "crio", "hosts-file"],
    mirrors: [
      {
        name: "hub",
        endpoint: "https://cache.regmirror.svc:5443",
        registries: [{ host: "docker.io" }, { host: "ghcr.io" }],
        caPem: certificates.caPem,
        clientCertificatePem: certificates.client.certificatePem,
        clientKeyPem: certificates.client.keyPem,
        dialTimeout: "1s",
      },
    ],
    hostsFileEntries: [{ host: "cache.regmirror.svc", ip: "10.96.0.20" }],
    ...overrides,
  };
}

/** containerd only, with the hub mirror for docker.io alone (ghcr.io left the state). */
function dockerHubOnly(): NodeTrustStateInput {
  return fullState({
    runtimes: ["containerd"],
    hostsFileEntries: [],
    mirrors: [
      {
        name: "hub",
        endpoint: "https://cache.regmirror.svc:5443",
        registries: [{ host: "docker.io" }],
      },
    ],
  });
}

beforeEach(async () => {
  root = await makeNodeRoot();
});

afterEach(async () => {
  await removeTempDirectory(root);
});

afterAll(() => undefined);

describe("createNodeTrustApplier", () => {
  it("writes every runtime's files under config_path and says what it did", async () => {
    const applier = createNodeTrustApplier({ root });
    const result = await applier.apply(fullState());
    expect(result.status).toBe("changed");
    expect(result.warnings).toEqual([]);
    expect(result.containerdCertsDirectory).toBe("/etc/containerd/certs.d");
    expect(
      result.files
        .filter((file) => file.action === "created")
        .map((file) => file.path)
        .sort(),
    ).toEqual([
      "/etc/containerd/certs.d/docker.io/hosts.toml",
      "/etc/containerd/certs.d/docker.io/regmirror-hub-ca.crt",
      "/etc/containerd/certs.d/docker.io/regmirror-hub-client.cert",
      "/etc/containerd/certs.d/docker.io/regmirror-hub-client.key",
      "/etc/containerd/certs.d/ghcr.io/hosts.toml",
      "/etc/containerd/certs.d/ghcr.io/regmirror-hub-ca.crt",
      "/etc/containerd/certs.d/ghcr.io/regmirror-hub-client.cert",
      "/etc/containerd/certs.d/ghcr.io/regmirror-hub-client.key",
      "/etc/containers/certs.d/cache.regmirror.svc:5443/ca.crt",
      "/etc/containers/certs.d/cache.regmirror.svc:5443/client.cert",
      "/etc/containers/certs.d/cache.regmirror.svc:5443/client.key",
      "/etc/containers/registries.conf.d/50-regmirror.conf",
      "/etc/docker/certs.d/cache.regmirror.svc:5443/ca.crt",
      "/etc/docker/certs.d/cache.regmirror.svc:5443/client.cert",
      "/etc/docker/certs.d/cache.regmirror.svc:5443/client.key",
    ]);
    // The node had an /etc/hosts: putting the block into it updates the file, it creates nothing.
    expect(result.files).toContainEqual({
      path: "/etc/hosts",
      action: "updated",
      reason: "added the regmirror block",
    });
    expect(result.managedFiles).toBe(16);
    const hostsToml = await readFile(
      join(root, "etc/containerd/certs.d/docker.io/hosts.toml"),
      "utf8",
    );
    expect(parse(hostsToml)).toMatchObject({ server: "https://registry-1.docker.io" });
    const record = JSON.parse(
      await readFile(join(root, "var/lib/regmirror/node-trust-state.json"), "utf8"),
    );
    expect(record.files).toHaveLength(15);
    expect(record.createdDirectories).toContain("/etc/docker/certs.d");
    const hosts = await readFile(join(root, "etc/hosts"), "utf8");
    expect(hosts.startsWith(`${personHosts}\n# BEGIN regmirror`)).toBe(true);
    expect(hosts).toContain("10.96.0.20\tcache.regmirror.svc\n");
  });

  it("changes nothing on a second apply of the same state, and says so", async () => {
    const applier = createNodeTrustApplier({ root });
    await applier.apply(fullState());
    const before = await snapshotTree(root);
    const again = await applier.apply(fullState());
    expect(again.status).toBe("unchanged");
    expect(again.changed).toBe(false);
    expect(new Set(again.files.map((file) => file.action))).toEqual(new Set(["unchanged"]));
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("removes everything it wrote: the root is byte-identical to before, directories included", async () => {
    const before = await snapshotTree(root);
    const applier = createNodeTrustApplier({ root });
    await applier.apply(fullState());
    // A changed desired state in between: one mirror more, other hosts entries.
    await applier.apply(
      fullState({
        mirrors: [
          ...(fullState().mirrors ?? []),
          {
            name: "quay",
            endpoint: "https://10.0.0.9:5000/v2/quay.io",
            registries: [{ host: "registry.k8s.io" }],
          },
        ],
        hostsFileEntries: [{ host: "other.mirror.local", ip: "10.96.0.21" }],
      }),
    );
    const removal = await applier.remove();
    expect(removal.status).toBe("removed");
    expect(await snapshotTree(root)).toEqual(before);
    expect(await applier.remove()).toMatchObject({ status: "nothing-to-remove" });
  });

  it("removes the files of a mirror that left the desired state, and the directories it made for them", async () => {
    const applier = createNodeTrustApplier({ root });
    await applier.apply(fullState({ runtimes: ["containerd"], hostsFileEntries: [] }));
    const result = await applier.apply(dockerHubOnly());
    expect(result.status).toBe("changed");
    expect(result.files).toContainEqual({
      path: "/etc/containerd/certs.d/ghcr.io/hosts.toml",
      action: "removed",
    });
    const snapshot = await snapshotTree(root);
    expect(Object.keys(snapshot).filter((path) => path.includes("ghcr.io"))).toEqual([]);
    expect(
      Object.keys(snapshot)
        .filter((path) => path.startsWith("etc/containerd/certs.d/docker.io/"))
        .sort(),
    ).toEqual(["etc/containerd/certs.d/docker.io/hosts.toml"]);
  });

  it("reports a file it did not write as a conflict, leaves it alone and still applies the rest", async () => {
    const theirs = 'server = "https://registry-1.docker.io"\n[host."https://their-mirror"]\n';
    await mkdir(join(root, "etc/containerd/certs.d/docker.io"), { recursive: true });
    await writeFile(join(root, "etc/containerd/certs.d/docker.io/hosts.toml"), theirs);
    const applier = createNodeTrustApplier({ root });
    const result = await applier.apply(
      fullState({ runtimes: ["containerd"], hostsFileEntries: [] }),
    );
    expect(result.status).toBe("conflict");
    expect(result.conflicts).toEqual([
      {
        path: "/etc/containerd/certs.d/docker.io/hosts.toml",
        action: "conflict",
        reason: expect.stringContaining("not written by regmirror"),
      },
    ]);
    expect(await readFile(join(root, "etc/containerd/certs.d/docker.io/hosts.toml"), "utf8")).toBe(
      theirs,
    );
    expect(result.files).toContainEqual({
      path: "/etc/containerd/certs.d/ghcr.io/hosts.toml",
      action: "created",
    });
    // Still a conflict the next time: never overwritten behind the person's back.
    expect(
      (await applier.apply(fullState({ runtimes: ["containerd"], hostsFileEntries: [] }))).status,
    ).toBe("conflict");
  });

  it("takes a file over when asked, keeps the original and restores it on removal", async () => {
    const theirs =
      "-----BEGIN CERTIFICATE-----\nsomeone's CA, copied by hand\n-----END CERTIFICATE-----\n";
    await mkdir(join(root, "etc/docker/certs.d/cache.regmirror.svc:5443"), { recursive: true });
    await writeFile(join(root, "etc/docker/certs.d/cache.regmirror.svc:5443/ca.crt"), theirs, {
      mode: 0o600,
    });
    const before = await snapshotTree(root);
    const applier = createNodeTrustApplier({ root });
    const state = fullState({ runtimes: ["docker"], hostsFileEntries: [] });
    const result = await applier.apply(state, { takeOver: true });
    expect(result.files).toContainEqual({
      path: "/etc/docker/certs.d/cache.regmirror.svc:5443/ca.crt",
      action: "taken-over",
      reason: expect.stringContaining("/var/lib/regmirror/node-trust-backups/"),
    });
    const written = await readFile(
      join(root, "etc/docker/certs.d/cache.regmirror.svc:5443/ca.crt"),
      "utf8",
    );
    expect(written).toContain(certificates.caPem.trim());
    // Taken over once, it is regmirror's: a later apply without takeOver is quiet.
    expect((await applier.apply(state)).status).toBe("unchanged");
    expect((await applier.remove()).status).toBe("removed");
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("reports a file it owns that someone edited, instead of overwriting or deleting it", async () => {
    const applier = createNodeTrustApplier({ root });
    const state = fullState({ runtimes: ["containerd"], hostsFileEntries: [] });
    await applier.apply(state);
    const path = join(root, "etc/containerd/certs.d/docker.io/hosts.toml");
    const edited = `${await readFile(path, "utf8")}# tuned by hand\n`;
    await writeFile(path, edited);
    const result = await applier.apply(state);
    expect(result.conflicts).toEqual([
      {
        path: "/etc/containerd/certs.d/docker.io/hosts.toml",
        action: "conflict",
        reason: expect.stringContaining("changed since"),
      },
    ]);
    expect(await readFile(path, "utf8")).toBe(edited);
    const removal = await applier.remove();
    expect(removal.status).toBe("kept");
    expect(removal.kept.map((outcome) => outcome.path)).toContain(
      "/etc/containerd/certs.d/docker.io/hosts.toml",
    );
    expect(await readFile(path, "utf8")).toBe(edited);
    // The record still knows the file, so a forced removal can finish the job.
    expect((await applier.remove({ force: true })).status).toBe("removed");
    await expect(readFile(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("leaves a directory it created once someone else's file is in it, and an edited file it should drop", async () => {
    const applier = createNodeTrustApplier({ root });
    const state = fullState({ runtimes: ["containerd"], hostsFileEntries: [] });
    await applier.apply(state);
    await writeFile(join(root, "etc/containerd/certs.d/ghcr.io/notes.txt"), "mine\n");
    const ghcrHosts = join(root, "etc/containerd/certs.d/ghcr.io/hosts.toml");
    await writeFile(ghcrHosts, `${await readFile(ghcrHosts, "utf8")}# edited\n`);
    const result = await applier.apply(dockerHubOnly());
    expect(result.status).toBe("conflict");
    expect(result.conflicts).toEqual([
      {
        path: "/etc/containerd/certs.d/ghcr.io/hosts.toml",
        action: "kept",
        reason: expect.stringContaining("changed since"),
      },
    ]);
    await rm(ghcrHosts);
    const removal = await applier.remove();
    expect(removal.status).toBe("removed");
    expect(removal.files).toContainEqual({
      path: "/etc/containerd/certs.d/ghcr.io",
      action: "handed-over",
      reason: expect.stringContaining("did not write"),
    });
    expect(await readFile(join(root, "etc/containerd/certs.d/ghcr.io/notes.txt"), "utf8")).toBe(
      "mine\n",
    );
    expect(Object.keys(await snapshotTree(root)).filter((path) => path.startsWith("var"))).toEqual(
      [],
    );
  });

  it("writes a deleted owned file again, and adopts a byte-identical file after its record was lost", async () => {
    const applier = createNodeTrustApplier({ root });
    const state = fullState({ runtimes: ["containerd"], hostsFileEntries: [] });
    await applier.apply(state);
    await rm(join(root, "etc/containerd/certs.d/ghcr.io/hosts.toml"));
    expect((await applier.apply(state)).files).toContainEqual({
      path: "/etc/containerd/certs.d/ghcr.io/hosts.toml",
      action: "created",
      reason: "was deleted; written again",
    });
    await rm(join(root, "var/lib/regmirror"), { recursive: true });
    const adopted = await applier.apply(state);
    expect(adopted.status).toBe("unchanged");
    expect(adopted.managedFiles).toBe(8);
  });

  it("adds, updates and removes the hosts block with the rest of /etc/hosts byte-identical", async () => {
    const before = await snapshotTree(root);
    const applier = createNodeTrustApplier({ root });
    const hostsOnly = (entries: { host: string; ip: string }[]) =>
      ({ runtimes: ["hosts-file"], mirrors: [], hostsFileEntries: entries }) as NodeTrustStateInput;
    await applier.apply(hostsOnly([{ host: "docker.mirror.local", ip: "10.96.0.10" }]));
    const path = join(root, "etc/hosts");
    // Someone appends a line after the block; an update must keep it where it is.
    await writeFile(path, `${await readFile(path, "utf8")}10.2.2.2 later-entry\n`);
    const update = await applier.apply(
      hostsOnly([
        { host: "docker.mirror.local", ip: "10.96.0.11" },
        { host: "ghcr.mirror.local", ip: "10.96.0.12" },
      ]),
    );
    expect(update.files).toEqual([{ path: "/etc/hosts", action: "updated" }]);
    expect(await readFile(path, "utf8")).toBe(
      `${personHosts}\n# BEGIN regmirror node-trust (managed by the regmirror node agent)\n` +
        "10.96.0.11\tdocker.mirror.local\n10.96.0.12\tghcr.mirror.local\n# END regmirror node-trust\n10.2.2.2 later-entry\n",
    );
    // Without hosts-file entries the block goes; the person's later line stays.
    const withoutBlock = await applier.apply({ runtimes: ["hosts-file"], mirrors: [] });
    expect(withoutBlock.files).toEqual([
      { path: "/etc/hosts", action: "updated", reason: "removed the regmirror block" },
    ]);
    expect(await readFile(path, "utf8")).toBe(`${personHosts}\n10.2.2.2 later-entry\n`);
    await writeFile(path, personHosts);
    await applier.apply(hostsOnly([{ host: "docker.mirror.local", ip: "10.96.0.10" }]));
    expect((await applier.remove()).files).toEqual([
      { path: "/etc/hosts", action: "updated", reason: "removed the regmirror block" },
    ]);
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("creates the hosts file when there is none and deletes it again on removal", async () => {
    await rm(join(root, "etc/hosts"));
    const before = await snapshotTree(root);
    const applier = createNodeTrustApplier({ root });
    const applied = await applier.apply({
      runtimes: ["hosts-file"],
      hostsFileEntries: [{ host: "m.local", ip: "10.0.0.1" }],
    });
    expect(applied.files).toEqual([{ path: "/etc/hosts", action: "created" }]);
    expect(await readFile(join(root, "etc/hosts"), "utf8")).toContain("10.0.0.1\tm.local");
    expect((await applier.remove()).files).toEqual([{ path: "/etc/hosts", action: "removed" }]);
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("follows a version 3 config_path, and warns (still writing) when a version 2 config lacks one", async () => {
    await writeFile(
      join(root, "etc/containerd/config.toml"),
      "version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\n  config_path = '/etc/containerd/hosts.d'\n",
    );
    const state = fullState({ runtimes: ["containerd"], hostsFileEntries: [] });
    const v3 = await createNodeTrustApplier({ root }).apply(state);
    expect(v3.containerdCertsDirectory).toBe("/etc/containerd/hosts.d");
    expect(
      await readFile(join(root, "etc/containerd/hosts.d/docker.io/hosts.toml"), "utf8"),
    ).toContain("server =");

    const other = await makeNodeRoot();
    try {
      await writeFile(join(other, "etc/containerd/config.toml"), "version = 2\n");
      const v2 = await createNodeTrustApplier({ root: other }).apply(state);
      expect(v2.warnings.map((warning) => warning.code)).toEqual([
        "CONTAINERD_CONFIG_PATH_NOT_SET",
      ]);
      expect(v2.containerdCertsDirectory).toBe("/etc/containerd/certs.d");
    } finally {
      await removeTempDirectory(other);
    }
  });

  it("rejects bad input with a clear error and writes nothing", async () => {
    const before = await snapshotTree(root);
    const applier = createNodeTrustApplier({ root });
    const bad = fullState({
      mirrors: [
        {
          name: "hub",
          endpoint: "https://cache.example:99999/v2/../x",
          registries: [{ host: "bad host" }],
          caPem: "not a certificate",
        },
      ],
    });
    const error = await applier.apply(bad).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidNodeStateError);
    expect((error as Error).message).toMatch(/mirrors\[0\]\.endpoint/);
    expect((error as Error).message).toMatch(
      /mirrors\[0\]\.registries\[0\]\.host: "bad host" is not a valid host name/,
    );
    expect((error as Error).message).toMatch(/mirrors\[0\]\.caPem: is not PEM/);
    expect(await snapshotTree(root)).toEqual(before);
    // A misspelled key fails the type-check (the parameter is NodeTrustStateInput) and, from an
    // untyped caller, the run-time validation.
    // @ts-expect-error: "mirors" is not a key of the state
    const misspelled = applier.apply({ runtimes: ["containerd"], mirors: [] });
    await expect(misspelled).rejects.toThrow(/mirors/);
    expect(() => createNodeTrustApplier({ root, paths: { hostsFile: "/etc/../hosts" } })).toThrow(
      /paths\.hostsFile: "\/etc\/..\/hosts" contains a "." or ".." segment/,
    );
    // Options from untyped callers (parsed JSON): typed errors, not TypeErrors.
    for (const options of [{ root: 5 }, { root, paths: { hostsFile: 5 } }]) {
      expect(() => createNodeTrustApplier(options as never)).toThrow(InvalidOptionsError);
    }
    expect(() => createNodeTrustApplier(null as never)).not.toThrow();
  });

  it("stops with a typed error when its ownership record is damaged, writing nothing", async () => {
    await mkdir(join(root, "var/lib/regmirror"), { recursive: true });
    await writeFile(
      join(root, "var/lib/regmirror/node-trust-state.json"),
      '{"version":1,"files":[{"path":"../x"}]}',
    );
    const before = await snapshotTree(root);
    const error = await createNodeTrustApplier({ root })
      .apply(fullState())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OwnershipRecordError);
    expect((error as OwnershipRecordError).code).toBe("NODE_TRUST_BAD_OWNERSHIP_RECORD");
    expect(await snapshotTree(root)).toEqual(before);
  });
});
