import { randomUUID } from "node:crypto";
import { createWriteStream, type Dirent } from "node:fs";
import { link, lstat, open, readdir, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { BlobBackend, StoredBlob } from "../blob-backend.js";
import { resolveRange } from "../blob-backend.js";
import { emptyReader, fileRangeReader } from "../blob-reader.js";
import type { Logger } from "../blob-store.js";
import { isDigest, type ParsedDigest } from "../digest.js";
import { VerifyingStream } from "../verifying-stream.js";
import {
  errorCode,
  fsyncDirectory,
  makeDirectoryDurably,
  mapFilesystemError,
} from "./durable-file.js";
import { createFilesystemMetadata } from "./filesystem-metadata.js";

/**
 * Layout under the root directory:
 *   blobs/<algorithm>/<first two hex digits>/<hex>   committed, verified blobs
 *   metadata/<key segments>.v                          small records
 *   tmp/                                               writes in progress (emptied at start-up)
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
  return join(layout.blobs, digest.algorithm, digest.hex.slice(0, 2), digest.hex);
}

/**
 * Opens the filesystem backend. Start-up recovery removes what a crashed process left in
 * tmp/: a write is only ever visible once it is complete, so nothing else needs repair.
 * One process owns a root directory at a time.
 */
export async function openFilesystemBackend(
  rootDirectory: string,
  logger: Logger,
): Promise<BlobBackend> {
  const layout = filesystemLayout(rootDirectory);
  await makeDirectoryDurably(layout.blobs);
  await makeDirectoryDurably(layout.metadata);
  await makeDirectoryDurably(layout.temporary);
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

  async function write(
    digest: ParsedDigest,
    source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    expectedSize: number | undefined,
  ): Promise<{ size: number; created: boolean }> {
    const finalPath = blobPath(layout, digest);
    const temporaryPath = join(layout.temporary, `${digest.hex.slice(0, 12)}-${randomUUID()}`);
    const verifier = new VerifyingStream(digest, expectedSize);
    try {
      // flush: fsync before close, so the bytes are on disk before the blob gets its name.
      await pipeline(
        source as AsyncIterable<Uint8Array>,
        verifier,
        createWriteStream(temporaryPath, { flags: "wx", flush: true, highWaterMark: 1024 * 1024 }),
      );
      await makeDirectoryDurably(dirname(finalPath));
      // link() fails when the blob is already there: the first writer wins and no second
      // copy replaces it under a reader's feet.
      let created = true;
      try {
        await link(temporaryPath, finalPath);
      } catch (error) {
        if (errorCode(error) !== "EEXIST") throw error;
        created = false;
      }
      if (created) await fsyncDirectory(dirname(finalPath));
      return { size: verifier.size, created };
    } catch (error) {
      throw mapFilesystemError(error, rootDirectory);
    } finally {
      await rm(temporaryPath, { force: true });
    }
  }

  async function* listBlobs(): AsyncGenerator<StoredBlob> {
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
    async stat(digest) {
      try {
        return (await lstat(blobPath(layout, digest))).size;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    },
    async read(digest, range) {
      let handle: import("node:fs/promises").FileHandle;
      try {
        handle = await open(blobPath(layout, digest), "r");
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
      try {
        const { size } = await handle.stat();
        const { start, end } = resolveRange(digest.digest, size, range);
        if (size === 0) {
          await handle.close();
          return { reader: emptyReader, size, start: 0, end: -1 };
        }
        // The open descriptor keeps the bytes readable even if the blob is deleted meanwhile.
        return { reader: fileRangeReader(handle, digest.digest, start, end), size, start, end };
      } catch (error) {
        await handle.close();
        throw error;
      }
    },
    write,
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
    async close() {},
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
