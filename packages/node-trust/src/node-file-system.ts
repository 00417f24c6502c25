// Reading and durably writing and removing node files.
import { createHash, randomBytes } from "node:crypto";
import { lstat, open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export function sha256(content: string | Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

/** What is at a path now, read without following a final symlink. */
export type CurrentFile =
  | { kind: "missing" }
  | { kind: "not-a-file"; description: string }
  | { kind: "file"; content: Buffer; sha256: string; mode: number; uid: number; gid: number };

export async function readCurrentFile(path: string): Promise<CurrentFile> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    throw error;
  }
  if (stats.isSymbolicLink()) return { kind: "not-a-file", description: "is a symbolic link" };
  if (!stats.isFile()) return { kind: "not-a-file", description: "is not a regular file" };
  const content = await readFile(path);
  return {
    kind: "file",
    content,
    sha256: sha256(content),
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
  };
}

export interface AtomicWriteOptions {
  mode: number;
  uid?: number;
  gid?: number;
}

/**
 * Writes a temporary file next to the target, syncs it, renames it over the target and syncs
 * the directory: a reader sees the old file or the new one, never a part of either.
 */
export async function writeFileAtomically(
  path: string,
  content: string | Uint8Array,
  options: AtomicWriteOptions,
): Promise<void> {
  const directory = dirname(path);
  const temporary = join(
    directory,
    `.${basename(path)}.regmirror-${randomBytes(6).toString("hex")}.tmp`,
  );
  const handle = await open(temporary, "wx", options.mode);
  try {
    try {
      await handle.writeFile(content);
      await handle.chmod(options.mode); // the mode given to open() is filtered by the umask
      if (options.uid !== undefined && options.gid !== undefined) {
        await handle.chown(options.uid, options.gid);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

export async function removeFileDurably(path: string): Promise<void> {
  await rm(path, { force: true });
  await syncDirectory(dirname(path));
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
