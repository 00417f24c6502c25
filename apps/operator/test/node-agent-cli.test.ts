// The node agent as it runs in the DaemonSet: the bundled regmirror-operator binary in its own
// Node process, stopped with SIGTERM. The bundle is built here (into node_modules/.cache, so
// its external dependencies resolve) because tests do not depend on the build task.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  makeCertificateAuthority,
  makeTempDirectory,
  removeTempDirectory,
  snapshotTree,
} from "@regmirror/test-kit";
import { build } from "tsup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeConfigMapVolume } from "./configmap-volume.js";
import { desiredState, makeNodeRoot, waitFor } from "./node-state-fixtures.js";

const appDirectory = join(import.meta.dirname, "..");
const bundleDirectory = join(
  appDirectory,
  "node_modules/.cache",
  `cli-test-${randomBytes(4).toString("hex")}`,
);
let root: string | undefined;
let stateDirectory: string | undefined;
let child: ChildProcess | undefined;
let caPem: string;

beforeAll(async () => {
  await build({
    config: false,
    entry: { main: join(appDirectory, "src/main.ts") },
    outDir: bundleDirectory,
    format: ["esm"],
    platform: "node",
    target: "node22",
    silent: true,
    noExternal: [/^@regmirror\//],
    external: ["pino"],
    esbuildOptions(options) {
      options.conditions = ["@regmirror/source"];
    },
  });
  caPem = (await makeCertificateAuthority({ commonName: "node agent CLI test CA" })).certificatePem;
  root = await makeNodeRoot();
  stateDirectory = makeTempDirectory("node-agent-cli-state-");
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGKILL");
    await new Promise((resolve) => child?.once("exit", resolve));
  }
  await rm(bundleDirectory, { recursive: true, force: true });
  if (stateDirectory) await removeTempDirectory(stateDirectory);
  if (root) await removeTempDirectory(root);
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const process_ = spawn(process.execPath, [join(bundleDirectory, "main.js"), ...args]);
    let stdout = "";
    let stderr = "";
    process_.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    process_.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    process_.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("regmirror-operator node-agent (child process)", () => {
  it("prints help for the binary and the command, and rejects bad options", async () => {
    const top = await run(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("node-agent");
    const help = await run(["node-agent", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--uninstall-on-exit");
    // The flags every start needs, then the one under test.
    const startWith = (...flags: string[]) =>
      run(["node-agent", "--state-file", "/x", "--listen", "127.0.0.1:0", ...flags]);
    const bad = await startWith("--resync", "soon");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--resync "soon" is not a duration');
    expect(help.stdout).toContain("--instance NAME");
    const badInstance = await startWith("--instance", "Not_A_Label");
    expect(badInstance.code).toBe(2);
    expect(badInstance.stderr).toContain('instance: "Not_A_Label" is not a DNS label');
    expect((await run(["no-such-command"])).stderr).toContain('unknown command "no-such-command"');
  });

  it("applies, follows a ConfigMap update, serves its endpoints and uninstalls on SIGTERM", async () => {
    if (!root || !stateDirectory) throw new Error("setup failed");
    const nodeRoot = root;
    const before = await snapshotTree(nodeRoot);
    await writeConfigMapVolume(stateDirectory, {
      "node-state.json": desiredState("https://mirror-a.example:5443", caPem),
    });
    const agent = spawn(process.execPath, [
      join(bundleDirectory, "main.js"),
      "node-agent",
      "--state-file",
      join(stateDirectory, "node-state.json"),
      "--root",
      nodeRoot,
      "--listen",
      "127.0.0.1:0",
      "--resync",
      "9m30s", // Go's syntax, as the cache configuration reads durations
      "--uninstall-on-exit",
    ]);
    child = agent;
    const logLines: Record<string, unknown>[] = [];
    createInterface({ input: agent.stdout }).on("line", (line) => {
      try {
        logLines.push(JSON.parse(line));
      } catch {
        logLines.push({ notJson: line });
      }
    });
    const exited = new Promise<number | null>((resolve) =>
      agent.once("exit", (code) => resolve(code)),
    );

    const address = await waitFor(
      "the agent to listen",
      async () =>
        logLines.find((line) => line.msg === "node agent listening")?.address as string | undefined,
    );
    const health = await (await fetch(`http://${address}/healthz`)).json();
    expect(health).toMatchObject({ status: "ok", lastApply: { result: "changed" } });
    expect(await (await fetch(`http://${address}/readyz`)).json()).toEqual({
      ready: true,
      result: "changed",
    });
    const hostsToml = join(nodeRoot, "etc/containerd/certs.d/docker.io/hosts.toml");
    expect(await readFile(hostsToml, "utf8")).toContain("mirror-a.example");

    await writeConfigMapVolume(stateDirectory, {
      "node-state.json": desiredState("https://mirror-b.example:5443", caPem),
    });
    // /readyz turns 200 only once the new state is applied and counted (the file alone is
    // written before the apply's counters move).
    await waitFor("the agent to apply mirror-b", async () =>
      (await fetch(`http://${address}/readyz`)).status === 200 ? true : undefined,
    );
    expect(await readFile(hostsToml, "utf8")).toContain("mirror-b.example");
    const metrics = await (await fetch(`http://${address}/metrics`)).text();
    expect(metrics).toContain('regmirror_node_agent_applies_total{result="changed"} 2\n');
    // Structured logs: every line is JSON with a level and a message.
    expect(
      logLines.every((line) => typeof line.level === "number" && typeof line.msg === "string"),
    ).toBe(true);

    agent.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(logLines.map((line) => line.msg)).toContain(
      "removed the node configuration regmirror wrote",
    );
    expect(await snapshotTree(nodeRoot)).toEqual(before);
  });
});
