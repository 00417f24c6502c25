// The filesystem backend: verified temp files linked into place, plain reads, a store lock.
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, type Dirent } from "node:fs";
import { link, lstat, open, readdir, rm, statfs, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  type BlobStat,
  type ByteRange,
  DigestVerifier,
  formatDigest,
  isDigest,
  type Logger,
  type OpenedBlob,
  type ParsedDigest,
  SizeMismatchError,
} from "@regmirror/core";
import type { BlobBackend } from "../blob-backend.js";
import { resolveRange } from "../blob-backend.js";
import { emptyReader, fileRangeReader } from "../blob-reader.js";
import {
  errorCode,
  fsyncDirectory,
  makeDirectoryDurably,
  mapFilesystemError,
} from "./durable-file.js";
import { createFilesystemMetadata } from "./filesystem-metadata.js";
import { acquireStoreLock, type StoreLockOptions } from "./store-lock.js";

/**
 * Layout under the root directory:
 *   blobs/<algorithm>/<first two hex digits>/<hex>   committed, verified blobs
 *   metadata/<key segments>.v                          small records
 *   tmp/                                               writes in progress (emptied at start-up)
 *   lock                                               names the process that owns the store
 */
export interface FilesystemLayout {
  blobs: string;
  metadata: string;
  temporary: string;
}

export function filesystemLayout(rootDirectory: string): FilesystemLayout {
  return {
    blobs: join(rootDirectory, "blobs"),
    metadata: join(rootDirectory, "metadata"),
    temporary: join(rootDirectory, "tmp"),
  };
}

function blobPath(layout: FilesystemLayout, digest: ParsedDigest): string {
  return join(layout.blobs, digest.algorithm, digest.encoded.slice(0, 2), digest.encoded);
}

/** A committed blob's size, or undefined. Needs no lock: committed blobs never change. */
export async function statBlobFile(
  layout: FilesystemLayout,
  digest: ParsedDigest,
): Promise<number | undefined> {
  try {
    return (await lstat(blobPath(layout, digest))).size;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

/** Opens a committed blob (or a range of it), or undefined. Needs no lock, like statBlobFile. */
export async function readBlobFile(
  layout: FilesystemLayout,
  digest: ParsedDigest,
  range: ByteRange | undefined,
): Promise<OpenedBlob | undefined> {
  let handle: import("node:fs/promises").FileHandle;
  try {
    handle = await open(blobPath(layout, digest), "r");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const text = formatDigest(digest);
    const { start, end } = resolveRange(text, size, range);
    if (size === 0) {
      await handle.close();
      return { digest: text, size, start: 0, end: -1, reader: emptyReader };
    }
    // The open descriptor keeps the bytes readable even if the blob is deleted meanwhile.
    return { digest: text, size, start, end, reader: fileRangeReader(handle, text, start, end) };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Opens the filesystem backend. One process owns a root directory at a time: it takes the
 * store's lock first (store-lock.ts). Start-up recovery then removes what a crashed process left
 * in tmp/: a write is only ever visible once it is complete, so nothing else needs repair.
 */
export async function openFilesystemBackend(
  rootDirectory: string,
  logger: Logger,
  lockOptions: StoreLockOptions,
): Promise<BlobBackend> {
  const layout = filesystemLayout(rootDirectory);
  await makeDirectoryDurably(rootDirectory);
  const lock = await acquireStoreLock(rootDirectory, lockOptions);
  try {
    await makeDirectoryDurably(layout.blobs);
    await makeDirectoryDurably(layout.metadata);
    await makeDirectoryDurably(layout.temporary);
    await removeLeftovers(layout, rootDirectory, logger);
  } catch (error) {
    await lock.release();
    throw error;
  }

  /** Gives a verified file its final name; false when the blob was there already. */
  async function commit(path: string, digest: ParsedDigest): Promise<boolean> {
    const finalPath = blobPath(layout, digest);
    await makeDirectoryDurably(dirname(finalPath));
    // link() fails when the blob is already there: the first writer wins and no second
    // copy replaces it under a reader's feet.
    try {
      await link(path, finalPath);
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
      return false;
    }
    await fsyncDirectory(dirname(finalPath));
    return true;
  }

  async function write(
    digest: ParsedDigest,
    source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    expectedSize: number | undefined,
  ): Promise<{ size: number; created: boolean }> {
    const temporaryPath = join(layout.temporary, `${digest.encoded.slice(0, 12)}-${randomUUID()}`);
    const verifier = new DigestVerifier(formatDigest(digest), expectedSize);
    try {
      // flush: fsync before close, so the bytes are on disk before the blob gets its name.
      await pipeline(
        source as AsyncIterable<Uint8Array>,
        verifier,
        createWriteStream(temporaryPath, { flags: "wx", flush: true, highWaterMark: 1024 * 1024 }),
      );
      return { size: verifier.size, created: await commit(temporaryPath, digest) };
    } catch (error) {
      throw mapFilesystemError(error, rootDirectory);
    } finally {
      await rm(temporaryPath, { force: true });
    }
  }

  /** Verifies a file where it is and links it into the store: no second copy of the bytes. */
  async function writeFile(
    digest: ParsedDigest,
    path: string,
    expectedSize: number | undefined,
  ): Promise<{ size: number; created: boolean }> {
    const handle = await open(path, "r");
    let size: number;
    try {
      size = (await handle.stat()).size;
      if (expectedSize !== undefined && size !== expectedSize) {
        throw new SizeMismatchError(expectedSize, size, formatDigest(digest));
      }
      const verifier = new DigestVerifier(formatDigest(digest), size);
      await pipeline(
        handle.createReadStream({ autoClose: false, start: 0, highWaterMark: 1024 * 1024 }),
        verifier,
        new Writable({ write: (_chunk, _encoding, callback) => callback() }),
      );
      // The bytes must be on disk before the blob gets its name.
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      return { size, created: await commit(path, digest) };
    } catch (error) {
      // Another filesystem, or one without hard links: copy it like any other source.
      if (errorCode(error) === "EXDEV" || errorCode(error) === "EPERM") {
        return write(digest, createReadStream(path), size);
      }
      throw mapFilesystemError(error, rootDirectory);
    }
  }

  async function* listBlobs(): AsyncGenerator<BlobStat> {
    for (const algorithm of await readDirectory(layout.blobs)) {
      if (!algorithm.isDirectory()) continue;
      const algorithmDirectory = join(layout.blobs, algorithm.name);
      for (const shard of await readDirectory(algorithmDirectory)) {
        if (!shard.isDirectory()) continue;
        const shardDirectory = join(algorithmDirectory, shard.name);
        for (const entry of await readDirectory(shardDirectory)) {
          const digest = `${algorithm.name}:${entry.name}`;
          if (!entry.isFile() || !isDigest(digest)) continue;
          try {
            const stats = await lstat(join(shardDirectory, entry.name));
            yield { digest, size: stats.size };
          } catch (error) {
            if (errorCode(error) !== "ENOENT") throw error;
          }
        }
      }
    }
  }

  return {
    stat: (digest) => statBlobFile(layout, digest),
    read: (digest, range) => readBlobFile(layout, digest, range),
    write,
    writeFile,
    async freeBytes() {
      const stats = await statfs(rootDirectory);
      return stats.bavail * stats.bsize;
    },
    async delete(digest) {
      try {
        await unlink(blobPath(layout, digest));
        return true;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return false;
        throw error;
      }
    },
    listBlobs,
    metadata: createFilesystemMetadata(layout.metadata, layout.temporary),
    close: () => lock.release(),
  };
}

async function readDirectory(directory: string): Promise<Dirent[]> {
  try {
    return await readdir(directory, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === "ENOENT") return [];
    throw error;
  }
}

/** What a crashed process left in tmp/: never visible, never needed. */
async function removeLeftovers(
  layout: FilesystemLayout,
  rootDirectory: string,
  logger: Logger,
): Promise<void> {
  const leftovers = await readdir(layout.temporary);
  for (const name of leftovers) {
    await rm(join(layout.temporary, name), { recursive: true, force: true });
  }
  if (leftovers.length > 0) {
    logger.info(
      { rootDirectory, removed: leftovers.length },
      "removed unfinished writes of an earlier run",
    );
  }
}
