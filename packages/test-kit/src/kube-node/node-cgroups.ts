// The cgroups a node leaves on the machine: the kubelet makes /kubepods (QoS classes, pods) in
// every cgroup hierarchy and runc a cgroup per container below it. Removing them means ending
// every process in them first (containers outlive the kubelet and containerd), deepest first.
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const cgroupRoot = "/sys/fs/cgroup";
/** The kubelet's cgroup for pods, under its default cgroupRoot "/". */
export const podsCgroup = "kubepods";

/** `/sys/fs/cgroup/<hierarchy>/kubepods` for every mounted hierarchy that has one. */
function podsCgroupDirectories(): string[] {
  if (!existsSync(cgroupRoot)) return [];
  return readdirSync(cgroupRoot)
    .map((hierarchy) => join(cgroupRoot, hierarchy, podsCgroup))
    .filter((directory) => existsSync(directory));
}

/** Every cgroup directory at or below `directory`, deepest first. */
function descendantsDeepestFirst(directory: string): string[] {
  const children = readdirSync(directory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => descendantsDeepestFirst(join(directory, entry.name)));
  return [...children, directory];
}

function processesIn(directory: string): number[] {
  try {
    return readFileSync(join(directory, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** True when a node's pod cgroups are on the machine (a node runs, or one was not cleaned up). */
export function podCgroupsExist(): boolean {
  return podsCgroupDirectories().length > 0;
}

/** PIDs of every process in the pod cgroups (the node's containers). */
export function podProcesses(): number[] {
  return [
    ...new Set(
      podsCgroupDirectories().flatMap((directory) =>
        descendantsDeepestFirst(directory).flatMap(processesIn),
      ),
    ),
  ];
}

/** Kills every process in the pod cgroups, then removes the cgroups; idempotent. */
export async function removePodCgroups(): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const pids = podProcesses();
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await sleep(100);
  }
  for (const directory of podsCgroupDirectories()) {
    for (const cgroup of descendantsDeepestFirst(directory)) {
      for (let attempt = 0; attempt < 20; attempt += 1) {
        try {
          rmdirSync(cgroup);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") break;
          // EBUSY: a killed process has not left yet.
          await sleep(100);
        }
      }
    }
  }
}
