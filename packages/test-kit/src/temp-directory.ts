// Temporary directories that tests remove.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerExitCleanup } from "@regmirror/envtest";

const unregisterByDirectory = new Map<string, () => void>();

/**
 * A fresh directory under the OS temp dir. It is removed by `removeTempDirectory`, or at the
 * latest when the test process ends.
 */
export function makeTempDirectory(prefix = "regmirror-test-"): string {
  const safePrefix = prefix.replace(/[^A-Za-z0-9._-]/g, "-");
  const directory = mkdtempSync(
    join(tmpdir(), safePrefix.endsWith("-") ? safePrefix : `${safePrefix}-`),
  );
  unregisterByDirectory.set(
    directory,
    registerExitCleanup(() => rmSync(directory, { recursive: true, force: true })),
  );
  return directory;
}

export async function removeTempDirectory(directory: string): Promise<void> {
  unregisterByDirectory.get(directory)?.();
  unregisterByDirectory.delete(directory);
  // maxRetries: a process that was just killed may still be closing files in it.
  rmSync(directory, { recursive: true, force: true, maxRetries: 3 });
}
