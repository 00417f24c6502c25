// The interface between the managed store (TTL, size cap, access times) and a storage backend.
import type { BlobStat, ByteRange, OpenedBlob, ParsedDigest } from "@regmirror/core";
import type { MetadataStore } from "./blob-store.js";
import { InvalidOptionsError, RangeNotSatisfiableError } from "./errors.js";

/**
 * What a storage backend provides: verified, atomic writes and plain reads. TTL, the size
 * cap, access tracking and put coalescing live above it, in the managed store.
 */
export interface BlobBackend {
  stat(digest: ParsedDigest): Promise<number | undefined>;
  read(digest: ParsedDigest, range?: ByteRange): Promise<OpenedBlob | undefined>;
  /** Verifies while writing; the blob appears under its final name only when verified. */
  write(
    digest: ParsedDigest,
    source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    expectedSize: number | undefined,
  ): Promise<{ size: number; created: boolean }>;
  /**
   * Stores a file that already holds the blob, verified, without a second copy where the
   * backend can (the filesystem links it). Backends without it get the file streamed to `write`.
   */
  writeFile?(
    digest: ParsedDigest,
    path: string,
    expectedSize: number | undefined,
  ): Promise<{ size: number; created: boolean }>;
  /**
   * A URL anyone holding it may GET the blob from for `expiresInSeconds`, without credentials
   * (an S3 presigned GET). Only signs: the caller checks that the blob is stored. Backends that
   * cannot hand out URLs (the filesystem) leave it out.
   */
  presignGet?(digest: ParsedDigest, expiresInSeconds: number): Promise<string>;
  /** Bytes free where blobs are written; backends without a local disk leave it out. */
  freeBytes?(): Promise<number>;
  delete(digest: ParsedDigest): Promise<boolean>;
  listBlobs(): AsyncIterable<BlobStat>;
  readonly metadata: MetadataStore;
  close(): Promise<void>;
}

/** Checks a requested range against a blob of `size` bytes and returns the inclusive bounds. */
export function resolveRange(
  digest: string,
  size: number,
  range: ByteRange | undefined,
): { start: number; end: number } {
  if (range === undefined) return { start: 0, end: size - 1 };
  if (typeof range !== "object" || range === null) {
    throw new InvalidOptionsError(`a range is { start, end? }, got ${String(range)}`);
  }
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new InvalidOptionsError(`range start must be a non-negative integer, got ${start}`);
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new InvalidOptionsError(`range end must be an integer >= start (${start}), got ${end}`);
  }
  if (start >= size) throw new RangeNotSatisfiableError(digest, start, size);
  return { start, end: Math.min(end ?? size - 1, size - 1) };
}

export function validateExpectedSize(expectedSize: number | undefined): void {
  if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
    throw new InvalidOptionsError(
      `expectedSize must be a non-negative integer, got ${String(expectedSize)}`,
    );
  }
}
