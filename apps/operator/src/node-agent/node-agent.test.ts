// Tests of the node agent in process: applies, follows the state file, reports, uninstalls.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { capturingLogger } from "@regmirror/core/testing";
import { createNodeTrustApplier } from "@regmirror/node-trust";
import {
  makeCertificateAuthority,
  makeTempDirectory,
  removeTempDirectory,
  snapshotTree,
} from "@regmirror/test-kit";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { writeConfigMapVolume } from "../../test/configmap-volume.js";
import { desiredState, makeNodeRoot, waitFor } from "../../test/node-state-fixtures.js";
import { createNodeAgent, type NodeAgent } from "./node-agent.js";

let caPem: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  caPem = (await makeCertificateAuthority({ commonName: "node agent test CA" })).certificatePem;
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(options: { uninstallOnClose: boolean }) {
  const root = await makeNodeRoot();
  const stateDirectory = makeTempDirectory("node-agent-state-");
  const logger = capturingLogger();
  const logs = logger.entries;
  const before = await snapshotTree(root);
  const agent = createNodeAgent({
    stateFile: join(stateDirectory, "node-state.json"),
    applier: createNodeTrustApplier({ root }),
    logger,
    // Long enough that only the watch can explain a quick pick-up.
    resyncIntervalMs: 600_000,
    uninstallOnClose: options.uninstallOnClose,
  });
  cleanups.push(async () => {
    await agent.close();
    await removeTempDirectory(stateDirectory);
    await removeTempDirectory(root);
  });
  return { root, stateDirectory, logs, before, agent };
}

async function serve(agent: NodeAgent): Promise<string> {
  const server: Server = createServer(agent.handleHttpRequest);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const hostsTomlOf = (root: string) =>
  readFile(join(root, "etc/containerd/certs.d/docker.io/hosts.toml"), "utf8");

describe("createNodeAgent", () => {
  it("applies at start and again when the kubelet swaps the ConfigMap's ..data symlink", async () => {
    const { root, stateDirectory, agent } = await setUp({ uninstallOnClose: false });
    await writeConfigMapVolume(stateDirectory, {
      "node-state.json": desiredState("https://mirror-a.example:5443", caPem),
    });
    await agent.start();
    expect(agent.status().lastApply).toMatchObject({ result: "changed", trigger: "start" });
    expect(await hostsTomlOf(root)).toContain('[host."https://mirror-a.example:5443"]');

    await writeConfigMapVolume(stateDirectory, {
      "node-state.json": desiredState("https://mirror-b.example:5443", caPem),
    });
    // The status describes a finished apply, and the files change while an apply runs: wait
    // for the status (a second apply that changed something; with a 10-minute resync only the
    // watch can have started it), not for the files, which can be ahead of it. The swap may
    // wake the watch twice, so the last apply can be an "unchanged" one after it.
    const applied = await waitFor("a second apply that changed the node", async () =>
      agent.status().appliesByResult.changed >= 2 ? agent.status().lastApply : undefined,
    );
    expect(applied.trigger).toBe("watch");
    expect(await hostsTomlOf(root)).toContain('[host."https://mirror-b.example:5443"]');
  });

  it("applies a state file that is replaced by rename, and keeps the files when the new state is invalid", async () => {
    const { root, stateDirectory, agent, logs } = await setUp({ uninstallOnClose: false });
    const stateFile = join(stateDirectory, "node-state.json");
    await writeFile(stateFile, desiredState("https://mirror-a.example:5443", caPem));
    await agent.start();
    await writeFile(`${stateFile}.new`, desiredState("https://mirror-c.example", caPem));
    await rename(`${stateFile}.new`, stateFile);
    await waitFor("the agent to apply mirror-c", async () =>
      (await hostsTomlOf(root)).includes("mirror-c.example") ? true : undefined,
    );

    await writeFile(
      stateFile,
      JSON.stringify({ mirrors: [{ name: "bad", endpoint: "https://x/../y", registries: [] }] }),
    );
    const invalid = await waitFor("the invalid state to be reported", async () =>
      agent.status().lastApply?.result === "invalid-state" ? agent.status().lastApply : undefined,
    );
    expect(invalid?.message).toContain("mirrors[0].endpoint");
    expect(await hostsTomlOf(root)).toContain("mirror-c.example");
    expect(
      logs.some((entry) => entry.level === "warn" && entry.message.includes("not fully applied")),
    ).toBe(true);

    // A broken file that holds a key: reported without quoting any of it.
    await writeFile(
      stateFile,
      // Unquoted, so JSON.parse's own message would quote it.
      '{"clientKeyPem": secret-key-bytes}',
    );
    const broken = await waitFor("the broken file to be reported", async () =>
      agent.status().lastApply?.message?.includes("not valid JSON")
        ? agent.status().lastApply
        : undefined,
    );
    expect(JSON.stringify(broken)).not.toContain("secret-key");
    expect(JSON.stringify(logs)).not.toContain("secret-key");
  });

  it("serves /healthz and /metrics with the last apply's result, time and managed files", async () => {
    const { stateDirectory, agent } = await setUp({ uninstallOnClose: false });
    await writeConfigMapVolume(stateDirectory, {
      "node-state.json": desiredState("https://mirror-a.example:5443", caPem),
    });
    await agent.start();
    await agent.applyNow("test");
    const base = await serve(agent);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: "ok",
      lastApply: { result: "unchanged" },
      managedFiles: 3,
    });

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await metrics.text();
    expect(text).toContain("regmirror_node_agent_last_apply_success 1\n");
    expect(text).toContain('regmirror_node_agent_last_apply_result{result="unchanged"} 1\n');
    expect(text).toContain('regmirror_node_agent_applies_total{result="changed"} 1\n');
    expect(text).toContain('regmirror_node_agent_applies_total{result="unchanged"} 1\n');
    expect(text).toContain("regmirror_node_agent_managed_files 3\n");
    const timestamp = Number(
      /^regmirror_node_agent_last_apply_timestamp_seconds (\S+)$/m.exec(text)?.[1],
    );
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(60);
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("answers /readyz 503 while a foreign file blocks the state, and 200 once the state is fixed, without a restart", async () => {
    const { root, stateDirectory, agent } = await setUp({ uninstallOnClose: false });
    // Someone else's hosts.toml at the path the state needs for docker.io.
    const foreign = join(root, "etc/containerd/certs.d/docker.io/hosts.toml");
    await mkdir(dirname(foreign), { recursive: true });
    await writeFile(foreign, 'server = "https://registry-1.docker.io"\n');
    await writeConfigMapVolume(stateDirectory, {
      "node-state.json": desiredState("https://mirror-a.example:5443", caPem),
    });
    const base = await serve(agent);
    const notStarted = await fetch(`${base}/readyz`);
    expect(notStarted.status).toBe(503);
    expect(await notStarted.json()).toEqual({ ready: false, reason: "not-applied-yet" });

    await agent.start();
    const blocked = await fetch(`${base}/readyz`);
    expect(blocked.status).toBe(503);
    expect(await blocked.json()).toEqual({
      ready: false,
      reason: "conflict",
      conflicts: ["/etc/containerd/certs.d/docker.io/hosts.toml"],
    });
    // Liveness is unaffected, and the metrics say the same as /readyz.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain(
      "regmirror_node_agent_last_apply_success 0\n",
    );
    expect(await readFile(foreign, "utf8")).toBe('server = "https://registry-1.docker.io"\n');

    // The fixed state mirrors quay.io only, so it no longer needs the foreign file's path.
    const fixed = JSON.parse(desiredState("https://mirror-a.example:5443", caPem));
    fixed.mirrors[0].registries = [{ host: "quay.io" }];
    await writeConfigMapVolume(stateDirectory, { "node-state.json": JSON.stringify(fixed) });
    const ready = await waitFor("/readyz to answer 200", async () => {
      const answer = await fetch(`${base}/readyz`);
      return answer.status === 200 ? answer.json() : undefined;
    });
    expect(ready).toEqual({ ready: true, result: "changed" });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain(
      "regmirror_node_agent_last_apply_success 1\n",
    );
    expect((await fetch(`${base}/readyz`, { method: "HEAD" })).status).toBe(200);
  });

  it("answers /readyz 503 for a state file it has not applied yet, an invalid state and a missing one", async () => {
    const { stateDirectory, agent } = await setUp({ uninstallOnClose: false });
    const stateFile = join(stateDirectory, "node-state.json");
    await writeFile(stateFile, desiredState("https://mirror-a.example:5443", caPem));
    await agent.start();
    const base = await serve(agent);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    // Written but not applied yet (the watch is not started here, so nothing applies it).
    const idleRoot = await makeNodeRoot();
    cleanups.push(() => removeTempDirectory(idleRoot));
    const idle = createNodeAgent({
      stateFile,
      applier: createNodeTrustApplier({ root: idleRoot }),
      logger: capturingLogger(),
    });
    cleanups.push(() => idle.close());
    await idle.applyNow("test");
    expect(await idle.readiness()).toMatchObject({ ready: true });
    await writeFile(stateFile, desiredState("https://mirror-b.example:5443", caPem));
    expect(await idle.readiness()).toEqual({ ready: false, reason: "state-changed" });
    await idle.applyNow("test");
    expect(await idle.readiness()).toEqual({ ready: true, result: "changed" });

    // A key in a broken file: the reason names the problem and quotes nothing.
    await writeFile(stateFile, '{"clientKeyPem": secret-key-bytes}');
    const invalid = await waitFor("/readyz to report the invalid state", async () => {
      const answer = await fetch(`${base}/readyz`);
      const text = await answer.text();
      return answer.status === 503 && text.includes("invalid-state") ? text : undefined;
    });
    expect(JSON.parse(invalid)).toEqual({ ready: false, reason: "invalid-state" });

    await rm(stateFile);
    await agent.applyNow("test");
    const missing = await fetch(`${base}/readyz`);
    expect(missing.status).toBe(503);
    expect(await missing.json()).toEqual({ ready: false, reason: "missing-state" });
  });

  it("answers /readyz 503 when uninstalling (an empty state) keeps a file someone edited", async () => {
    const { root, stateDirectory, agent } = await setUp({ uninstallOnClose: false });
    await writeConfigMapVolume(stateDirectory, {
      "node-state.json": desiredState("https://mirror-a.example:5443", caPem),
    });
    await agent.start();
    await writeFile(
      join(root, "etc/containerd/certs.d/docker.io/hosts.toml"),
      "# edited by hand\n",
    );
    // What the operator renders to uninstall: the same runtimes, nothing to configure.
    await writeConfigMapVolume(stateDirectory, {
      "node-state.json": JSON.stringify({
        runtimes: ["containerd", "hosts-file"],
        mirrors: [],
        hostsFileEntries: [],
      }),
    });
    const kept = await waitFor("the uninstall to be applied", async () => {
      const readiness = await agent.readiness();
      return readiness.ready === false && readiness.reason === "conflict" ? readiness : undefined;
    });
    expect(kept.conflicts).toEqual(["/etc/containerd/certs.d/docker.io/hosts.toml"]);
    expect(await hostsTomlOf(root)).toBe("# edited by hand\n");
  });

  it("reports a missing state file, then applies it once it appears", async () => {
    const { root, stateDirectory, agent } = await setUp({ uninstallOnClose: false });
    await agent.start();
    expect(agent.status().lastApply?.result).toBe("missing-state");
    await writeConfigMapVolume(stateDirectory, {
      "node-state.json": desiredState("https://mirror-a.example:5443", caPem),
    });
    await waitFor("the agent to apply the new file", async () =>
      (await hostsTomlOf(root)).includes("mirror-a.example") ? true : undefined,
    );
  });

  it("removes everything it wrote on close only when told to uninstall", async () => {
    const kept = await setUp({ uninstallOnClose: false });
    await writeConfigMapVolume(kept.stateDirectory, {
      "node-state.json": desiredState("https://m.example", caPem),
    });
    await kept.agent.start();
    await kept.agent.close();
    expect(await hostsTomlOf(kept.root)).toContain("m.example");

    const removed = await setUp({ uninstallOnClose: true });
    await writeConfigMapVolume(removed.stateDirectory, {
      "node-state.json": desiredState("https://m.example", caPem),
    });
    await removed.agent.start();
    expect(await snapshotTree(removed.root)).not.toEqual(removed.before);
    await removed.agent.close();
    expect(await snapshotTree(removed.root)).toEqual(removed.before);
  });
});
