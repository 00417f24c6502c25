/**
 * A client's view of a running fill: a reader over the spool file that reads what is on disk
 * and waits for the fill's progress for more (docs/adr/0009-pull-through-blob-fill.md). A slow
 * client never slows the download or other clients, and no bytes are buffered per client: the
 * server lends the buffers (docs/adr/0013-blob-bodies-into-lent-buffers.md).
 * The last byte of what a client asked for is held back until the whole blob is verified, so a
 * client never takes a corrupt or cut download for a complete one: when the fill fails, the
 * read rejects with its error and the server aborts the connection. A reader whose span reaches
 * the blob's end ends only once the fill has committed the blob to the store, so a client that
 * read a fill to its end (a warm, a peer) finds the blob stored; a failed commit is its error.
 */
import type { BlobReader } from "@regmirror/core";
import type { BlobFill } from "./blob-fill.js";

export class SpoolReader implements BlobReader {
  #position: number;
  #reading: Promise<unknown> | undefined;
  #closed = false;

  /**
   * Follows `fill` from `start` to `end` (inclusive; undefined: to the end of the blob).
   * Takes over a reference the caller acquired on the fill, and releases it when closed.
   */
  constructor(
    private readonly fill: BlobFill,
    start = 0,
    private readonly end: number | undefined = undefined,
  ) {
    this.#position = start;
  }

  async read(buffer: Buffer): Promise<number> {
    for (;;) {
      if (this.#closed) throw new Error("the spool reader is closed");
      const { fill } = this;
      const verified = fill.state === "verified";
      // Exclusive end of what this client asked for; `fill.size` is known once a reader exists.
      const spanEnd =
        this.end === undefined ? (fill.size ?? Number.POSITIVE_INFINITY) : this.end + 1;
      // The last byte waits for verification: a client that has every byte considers the
      // response complete (Content-Length) even if the connection is aborted afterwards.
      const available = Math.min(fill.written, verified ? spanEnd : spanEnd - 1);
      if (this.#position < available) {
        const length = Math.min(available - this.#position, buffer.byteLength);
        const reading = fill.handle.read(buffer, 0, length, this.#position);
        this.#reading = reading;
        const { bytesRead } = await reading;
        this.#reading = undefined;
        if (bytesRead === 0)
          throw new Error("the spool file is shorter than the bytes written to it");
        this.#position += bytesRead;
        return bytesRead;
      }
      if (fill.state === "failed") throw fill.error ?? new Error("the download failed");
      if (verified && this.#position >= Math.min(fill.written, spanEnd)) {
        if (spanEnd >= fill.written) await fill.committed;
        return 0;
      }
      await fill.nextChange();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A read under way still uses the spool: release it only when that read is over.
    await this.#reading?.catch(() => {});
    this.fill.release();
  }
}
