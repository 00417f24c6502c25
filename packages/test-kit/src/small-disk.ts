// A real small disk for disk-full tests: a tmpfs of a given size, mounted by the test (the test
// machines run as root). A test that cannot mount fails with the reason: it never passes without
// having had a full disk.
import { execFileSync } from "node:child_process";
import { registerExitCleanup } from "@regmirror/envtest";
import { TestKitError } from "./errors.js";
import { makeTempDirectory, removeTempDirectory } from "./temp-directory.js";

export interface SmallDisk {
  /** Where it is mounted. */
  path: string;
  /** Unmounts it and removes the mount point; safe to call twice. */
  remove(): Promise<void>;
}

function unmount(path: string): void {
  try {
    execFileSync("umount", [path], { stdio: "pipe" });
  } catch {
    // Busy (a process still has files open) or already gone: lazily detach it.
    try {
      execFileSync("umount", ["-l", path], { stdio: "pipe" });
    } catch {
      // not mounted
    }
  }
}

export function mountSmallDisk(bytes: number, prefix = "regmirror-small-disk-"): SmallDisk {
  if (!Number.isSafeInteger(bytes) || bytes < 4096) {
    throw new TestKitError(
      "BAD_INPUT",
      `mountSmallDisk: size must be at least 4096 bytes, got ${bytes}`,
    );
  }
  const path = makeTempDirectory(prefix);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", path], {
      stdio: "pipe",
    });
  } catch (error) {
    throw new TestKitError(
      "COMMAND_FAILED",
      `this test needs a ${bytes}-byte tmpfs and so runs as root (mount -t tmpfs failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()})`,
      { cause: error },
    );
  }
  const unregister = registerExitCleanup(() => unmount(path));
  let removed = false;
  return {
    path,
    async remove() {
      if (removed) return;
      removed = true;
      unregister();
      unmount(path);
      await removeTempDirectory(path);
    },
  };
}
