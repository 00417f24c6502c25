// Crash-safe file writes for the filesystem backend: atomic replace and fsync of directories.
import { randomUUID } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { StorageFullError } from "../errors.js";

/** Makes a rename or a new entry in `directory` survive a crash. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `directory` and, when anything was created, makes the new entries durable. */
export async function makeDirectoryDurably(directory: string): Promise<void> {
  const firstCreated = await mkdir(directory, { recursive: true });
  if (firstCreated === undefined) return;
  await fsyncDirectory(dirname(firstCreated));
  let current = directory;
  while (current.length >= firstCreated.length) {
    await fsyncDirectory(current);
    current = dirname(current);
  }
}

/** Writes a small file so that a reader sees the old content or the new, never a mix. */
export async function writeFileAtomically(
  path: string,
  content: string,
  temporaryDirectory: string,
): Promise<void> {
  const temporaryPath = join(temporaryDirectory, `${randomUUID()}.partial`);
  try {
    const handle = await open(temporaryPath, "wx");
    try {
      await handle.writeFile(content, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await makeDirectoryDurably(dirname(path));
    await rename(temporaryPath, path);
    await fsyncDirectory(dirname(path));
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw mapFilesystemError(error, path);
  }
}

export function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

/** ENOSPC and EDQUOT become the typed StorageFullError; anything else passes through. */
export function mapFilesystemError(error: unknown, where: string): unknown {
  const code = errorCode(error);
  if (code === "ENOSPC" || code === "EDQUOT") return new StorageFullError(where, error);
  return error;
}
