/**
 * A blob's bytes read into buffers the caller lends. A server sending a blob can then reuse
 * two buffers per response instead of a stream allocating a new chunk per read
 * (docs/adr/0013-blob-bodies-into-lent-buffers.md). `get()` wraps the same reader in a stream.
 */
import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { type BlobReader, SizeMismatchError } from "@regmirror/core";

/** Chunks of streams made by `readableFromReader` (each is a new buffer the consumer keeps). */
const streamChunkBytes = 256 * 1024;

/** Reads bytes `start`..`end` (inclusive) of an open file, then closes it. */
export function fileRangeReader(
  handle: FileHandle,
  digest: string,
  start: number,
  end: number,
): BlobReader {
  let position = start;
  let reading: Promise<unknown> | undefined;
  let closing: Promise<void> | undefined;
  return {
    async read(buffer) {
      const length = Math.min(buffer.byteLength, end + 1 - position);
      if (length <= 0) return 0;
      const read = handle.read(buffer, 0, length, position);
      reading = read;
      const { bytesRead } = await read;
      reading = undefined;
      // The file shrank under us (someone truncated the store): fail rather than end short.
      if (bytesRead === 0) throw new SizeMismatchError(end + 1, position, digest);
      position += bytesRead;
      return bytesRead;
    },
    close() {
      // A read under way still uses the descriptor: close it only when that read is over.
      closing ??= (reading ?? Promise.resolve()).then(
        () => handle.close(),
        () => handle.close(),
      );
      return closing;
    },
  };
}

/** A reader over a stream (S3 response bodies): copies each chunk into the lent buffers. */
export function streamReader(stream: Readable): BlobReader {
  const chunks = stream[Symbol.asyncIterator]();
  let leftover: Buffer | undefined;
  return {
    async read(buffer) {
      if (leftover === undefined || leftover.byteLength === 0) {
        const next = await chunks.next();
        if (next.done) return 0;
        leftover = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
      }
      const copied = leftover.copy(buffer, 0, 0, Math.min(leftover.byteLength, buffer.byteLength));
      leftover = leftover.subarray(copied);
      return copied;
    },
    async close() {
      stream.destroy();
    },
  };
}

/**
 * A stream over a reader; closes the reader when the stream ends or is destroyed. With `length`
 * (the bytes the reader yields) no chunk is larger than what is left, so a small blob such as a
 * manifest costs its own size, not a whole chunk.
 */
export function readableFromReader(
  reader: BlobReader,
  length = Number.POSITIVE_INFINITY,
): Readable {
  let left = length;
  return new Readable({
    highWaterMark: streamChunkBytes,
    read() {
      const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(streamChunkBytes, left)));
      reader.read(buffer).then(
        (bytesRead) => {
          left -= bytesRead;
          this.push(bytesRead === 0 ? null : buffer.subarray(0, bytesRead));
        },
        (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
      );
    },
    destroy(error, callback) {
      reader.close().then(
        () => callback(error),
        (closeError: unknown) => callback(error ?? (closeError as Error)),
      );
    },
  });
}

/** An empty blob's reader. */
export const emptyReader: BlobReader = {
  read: async () => 0,
  close: async () => {},
};
