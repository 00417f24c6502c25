/**
 * What a blob is to the code that stores and serves it: its digest and size, a byte range of
 * it, and a reader that fills buffers the caller lends, so a server can send a blob with two
 * reused buffers instead of a new chunk per read (docs/adr/0013-blob-bodies-into-lent-buffers.md).
 */

/** A blob's digest and its size in bytes. */
export interface BlobStat {
  digest: string;
  size: number;
}

/**
 * Inclusive byte range, as in HTTP `Range: bytes=start-end`. Without `end`, to the end of the
 * blob; an `end` past the blob is clamped to its last byte.
 */
export interface ByteRange {
  start: number;
  end?: number;
}

/** A blob's bytes read into buffers the caller lends. Single consumer: one read at a time. */
export interface BlobReader {
  /**
   * Reads the next bytes into `buffer`; resolves to how many (0: the end). The buffer is the
   * caller's again when the promise settles.
   */
  read(buffer: Buffer): Promise<number>;
  /** Stops reading and frees what the reader holds. Safe to call more than once. */
  close(): Promise<void>;
}

/** A blob opened for reading: the whole blob, or the range asked for, through a reader. */
export interface OpenedBlob extends BlobStat {
  /** The first and last byte the reader yields (0 and size - 1 for the whole blob). */
  start: number;
  end: number;
  reader: BlobReader;
}
