// createFilesystemBlobStore: the managed store over a local directory.
import { basename } from "node:path";
import { silentLogger } from "@regmirror/core";
import type { BlobStore, LifecycleOptions } from "./blob-store.js";
import { InvalidOptionsError } from "./errors.js";
import { openFilesystemBackend } from "./filesystem/filesystem-backend.js";
import { createManagedBlobStore } from "./managed-blob-store.js";

export interface FilesystemBlobStoreOptions extends LifecycleOptions {
  /**
   * Created when missing. One process owns it at a time: opening a directory another live
   * process holds fails with StoreLockedError, which names that process.
   */
  rootDirectory: string;
  /** Names this process in the store's lock, for the error another process gets. */
  owner?: string;
}

/**
 * A blob store in a local directory; takes the directory's lock and removes unfinished writes
 * of a crashed run at start-up.
 */
export async function createFilesystemBlobStore(
  options: FilesystemBlobStoreOptions,
): Promise<BlobStore> {
  if (typeof options.rootDirectory !== "string" || options.rootDirectory === "") {
    throw new InvalidOptionsError("filesystem storage needs a rootDirectory");
  }
  const backend = await openFilesystemBackend(
    options.rootDirectory,
    options.logger ?? silentLogger,
    {
      owner: options.owner ?? `${basename(process.argv[1] ?? process.argv0)} (node)`,
    },
  );
  try {
    return await createManagedBlobStore(backend, options);
  } catch (error) {
    await backend.close();
    throw error;
  }
}
