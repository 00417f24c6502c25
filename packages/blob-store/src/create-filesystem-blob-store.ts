import type { BlobStore, LifecycleOptions } from "./blob-store.js";
import { silentLogger } from "./blob-store.js";
import { InvalidOptionsError } from "./errors.js";
import { openFilesystemBackend } from "./filesystem/filesystem-backend.js";
import { createManagedBlobStore } from "./managed-blob-store.js";

export interface FilesystemBlobStoreOptions extends LifecycleOptions {
  /** Created when missing. One process owns it at a time. */
  rootDirectory: string;
}

/** A blob store in a local directory; removes unfinished writes of a crashed run at start-up. */
export async function createFilesystemBlobStore(
  options: FilesystemBlobStoreOptions,
): Promise<BlobStore> {
  if (typeof options.rootDirectory !== "string" || options.rootDirectory === "") {
    throw new InvalidOptionsError("filesystem storage needs a rootDirectory");
  }
  const backend = await openFilesystemBackend(
    options.rootDirectory,
    options.logger ?? silentLogger,
  );
  try {
    return await createManagedBlobStore(backend, options);
  } catch (error) {
    await backend.close();
    throw error;
  }
}
