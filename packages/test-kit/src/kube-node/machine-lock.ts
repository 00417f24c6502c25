// One Kubernetes node per machine: a kubelet changes machine-wide state (cgroups named
// /kubepods), so test files and workspaces that start a node take turns through a lock file.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { TestKitError } from "../errors.js";

export const machineLockPath = join(tmpdir(), "regmirror-kube-node.lock");

function holderIsAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path, "utf8").trim());
  } catch {
    return true; // being written right now
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits (up to `timeoutMs`) until this process holds the node lock; returns its release. A lock
 * whose process is gone is taken over.
 */
export async function acquireMachineLock(
  timeoutMs: number,
  onWait: (message: string) => void,
): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const descriptor = openSync(machineLockPath, "wx");
      writeSync(descriptor, `${process.pid}\n`);
      closeSync(descriptor);
      return () => rmSync(machineLockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (!holderIsAlive(machineLockPath)) {
      rmSync(machineLockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new TestKitError(
        "NOT_READY",
        `another Kubernetes node held ${machineLockPath} for ${timeoutMs} ms; one node runs per machine`,
      );
    }
    if (!told) {
      onWait(
        `waiting for the Kubernetes node of process ${readFileSync(machineLockPath, "utf8").trim()} to stop (${machineLockPath})`,
      );
      told = true;
    }
    await sleep(500);
  }
}
