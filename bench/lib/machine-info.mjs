// What the figures were measured on: CPU, memory, kernel and the versions of every system.
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { runCommand } from "./processes.mjs";
import { nginxBinary } from "./systems.mjs";
import { undiciVersion } from "./undici.mjs";

async function firstLine(command, args) {
  try {
    const { stdout, stderr } = await runCommand(command, args, { timeoutMs: 10_000 });
    return `${stdout}${stderr}`.trim().split("\n")[0];
  } catch (error) {
    return `unknown (${error.message})`;
  }
}

function cpuModel() {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match) return match[1].trim();
  } catch {
    // not Linux: fall back to what Node says
  }
  return cpus()[0]?.model ?? "unknown";
}

export async function describeMachine() {
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryGiB: (totalmem() / 1024 ** 3).toFixed(1),
    kernel: release(),
    loadAtStart: loadavg()[0].toFixed(2),
    node: process.version,
    undici: undiciVersion,
    dockerRegistry: await firstLine("docker-registry", ["--version"]),
    nginx: await firstLine(nginxBinary, ["-v"]),
    skopeo: await firstLine("skopeo", ["--version"]),
    wrk: await firstLine("wrk", ["--version"]),
  };
}

/** The 1-minute load average now. */
export function currentLoad() {
  return loadavg()[0].toFixed(2);
}
