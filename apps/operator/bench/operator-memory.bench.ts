/**
 * Resident memory of the operator and of its node agent as the image runs them: the production
 * bundle (what `npm run image` puts in /opt/regmirror-operator) on the project's Node with
 * NODE_ENV=production, the operator against a real kube-apiserver (test kit), idle and then with
 * mirrors to reconcile. Prints VmRSS and VmHWM (peak) from /proc. The Deployment's and the
 * DaemonSet's memory requests come from these figures. Run `pnpm run bench` in this package.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildAppBundle } from "@regmirror/image-builder";
import {
  freePort,
  httpGetStatus,
  makeTempDirectory,
  removeTempDirectory,
  waitUntilReady,
} from "@regmirror/test-kit";
import { afterAll, it } from "vitest";
import { startOperatorCluster } from "../test/operator/operator-cluster.js";

const appDirectory = join(import.meta.dirname, "..");
const repositoryRoot = join(appDirectory, "..", "..");
const mirrorCount = 10;
const settleMs = 60_000;

const children: ChildProcess[] = [];
let directory: string | undefined;
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  if (directory) await removeTempDirectory(directory);
});

async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

function start(main: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [main, ...args], {
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return child;
}

it("operator and node agent resident memory", async () => {
  directory = makeTempDirectory("regmirror-operator-memory-");
  const bundle = await buildAppBundle({ appDirectory, repositoryRoot, entry: "src/main.ts" });
  for (const [name, content] of bundle.files) await writeFile(join(directory, name), content);
  await writeFile(join(directory, "package.json"), '{ "type": "module" }\n');
  const main = join(directory, "main.js");
  const rows: string[] = [];
  const row = (what: string, memory: { rss: number; peak: number }) =>
    rows.push(`| ${what} | ${memory.rss.toFixed(0)} | ${memory.peak.toFixed(0)} |`);

  // The node agent applying a containerd state to a directory standing for the node.
  const root = join(directory, "node");
  await mkdir(join(root, "etc/containerd"), { recursive: true });
  await writeFile(
    join(directory, "state.json"),
    JSON.stringify({ runtimes: ["containerd"], mirrors: [] }),
  );
  const agentPort = await freePort();
  const agent = start(main, [
    "node-agent",
    "--state-file",
    join(directory, "state.json"),
    "--root",
    root,
    "--listen",
    `127.0.0.1:${agentPort}`,
  ]);
  await waitUntilReady(
    "node agent",
    async () => (await httpGetStatus(`http://127.0.0.1:${agentPort}/readyz`)) === 200,
  );
  await sleep(settleMs);
  row("node agent, idle", await memoryOf(agent.pid ?? 0));
  agent.kill("SIGTERM");

  // The operator, alone with the API server, then reconciling mirrors.
  const cluster = await startOperatorCluster();
  try {
    const healthPort = await freePort();
    const operator = start(main, [
      "operator",
      "--kubeconfig",
      cluster.server.kubeconfigPath,
      "--namespace",
      "regmirror-system",
      "--image",
      "ghcr.io/regmirror/regmirror-operator:bench",
      "--cache-image",
      "ghcr.io/regmirror/regmirror-cache:bench",
      "--no-leader-election",
      "--health-listen",
      `127.0.0.1:${healthPort}`,
    ]);
    await waitUntilReady(
      "operator",
      async () => (await httpGetStatus(`http://127.0.0.1:${healthPort}/readyz`)) === 200,
      { timeoutMs: 60_000 },
    );
    await sleep(settleMs);
    row("operator, idle (no mirror)", await memoryOf(operator.pid ?? 0));
    for (let index = 0; index < mirrorCount; index += 1) {
      await cluster.client.create({
        apiVersion: "regmirror.dev/v1alpha1",
        kind: "RegistryMirror",
        metadata: { name: `bench-${index}` },
        spec: { upstreamUrl: "registry-1.docker.io" },
      });
    }
    await sleep(settleMs);
    row(`operator, ${mirrorCount} mirrors reconciled`, await memoryOf(operator.pid ?? 0));
  } finally {
    await cluster.stop();
  }
  console.log(
    [
      `Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}`,
      "| process | resident (MiB) | peak resident (MiB) |",
      "|---|---:|---:|",
      ...rows,
    ].join("\n"),
  );
});
