// A directory tree's files, modes and hashes, to compare before and after.
import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join, relative } from "node:path";

/**
 * Every entry under `directory` (keyed by its relative path) with its kind, mode, owner and
 * content hash: two snapshots are equal only when the trees are byte-identical, so a test can
 * assert that an idempotent step changed nothing on disk.
 */
export async function snapshotTree(directory: string): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  async function visit(current: string): Promise<void> {
    for (const name of (await readdir(current)).sort()) {
      const path = join(current, name);
      const stats = await lstat(path);
      const key = relative(directory, path);
      const mode = (stats.mode & 0o7777).toString(8);
      if (stats.isSymbolicLink()) {
        entries[key] = `symlink ${await readlink(path)}`;
      } else if (stats.isDirectory()) {
        entries[key] = `directory ${mode}`;
        await visit(path);
      } else {
        const hash = createHash("sha256")
          .update(await readFile(path))
          .digest("hex");
        entries[key] = `file ${mode} ${stats.uid}:${stats.gid} ${hash}`;
      }
    }
  }
  await visit(directory);
  return entries;
}
