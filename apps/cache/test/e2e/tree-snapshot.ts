import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join, relative } from "node:path";

/**
 * Every entry under a directory with its kind, mode, owner and content hash: two snapshots are
 * equal only when the trees are byte-identical.
 */
export async function snapshotTree(root: string): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  async function visit(directory: string): Promise<void> {
    for (const name of (await readdir(directory)).sort()) {
      const path = join(directory, name);
      const stats = await lstat(path);
      const key = relative(root, path);
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
  await visit(root);
  return entries;
}
