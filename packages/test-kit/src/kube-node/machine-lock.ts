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
export async function acquireMachineLock(options: {
  timeoutMs: number;
  onWait: (message: string) => void;
  /** Default machineLockPath (tests of the lock itself use their own). */
  path?: string;
}): Promise<() => void> {
  const { timeoutMs, onWait } = options;
  const lockPath = options.path ?? machineLockPath;
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const descriptor = openSync(lockPath, "wx");
      writeSync(descriptor, `${process.pid}\n`);
      closeSync(descriptor);
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (!holderIsAlive(lockPath)) {
      rmSync(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new TestKitError(
        "NOT_READY",
        `another Kubernetes node held ${lockPath} for ${timeoutMs} ms; one node runs per machine`,
      );
    }
    if (!told) {
      onWait(
        `waiting for the Kubernetes node of process ${readFileSync(lockPath, "utf8").trim()} to stop (${lockPath})`,
      );
      told = true;
    }
    await sleep(500);
  }
}
