/**
 * A client's view of a running fill: a Readable over the spool file that reads what is on disk
 * and waits for the fill's progress for more (docs/adr/0009-pull-through-blob-fill.md). A slow
 * client never slows the download or other clients, and no bytes are buffered per client.
 * The last byte of what a client asked for is held back until the whole blob is verified, so a
 * client never takes a corrupt or cut download for a complete one: when the fill fails, the
 * stream is destroyed with its error and the server aborts the connection.
 */
import { Readable } from "node:stream";
import type { BlobFill } from "./blob-fill.js";

const chunkBytes = 64 * 1024;

export class SpoolFollower extends Readable {
  #position: number;
  #pumping = false;
  #reading: Promise<unknown> | undefined;

  /**
   * Follows `fill` from `start` to `end` (inclusive; undefined: to the end of the blob).
   * Takes over a reference the caller acquired on the fill, and releases it when destroyed.
   */
  constructor(
    private readonly fill: BlobFill,
    start = 0,
    private readonly end: number | undefined = undefined,
  ) {
    super({ highWaterMark: chunkBytes });
    this.#position = start;
  }

  override _read(size: number): void {
    void this.#pump(size);
  }

  async #pump(size: number): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        if (this.destroyed) return;
        const { fill } = this;
        const verified = fill.state === "verified";
        // Exclusive end of what this client asked for; `fill.size` is known once a follower exists.
        const spanEnd =
          this.end === undefined ? (fill.size ?? Number.POSITIVE_INFINITY) : this.end + 1;
        // The last byte waits for verification: a client that has every byte considers the
        // response complete (Content-Length) even if the connection is aborted afterwards.
        const available = Math.min(fill.written, verified ? spanEnd : spanEnd - 1);
        if (this.#position < available) {
          const length = Math.min(available - this.#position, Math.max(size, chunkBytes));
          const buffer = Buffer.allocUnsafe(length);
          this.#reading = fill.handle.read(buffer, 0, length, this.#position);
          const { bytesRead } = (await this.#reading) as { bytesRead: number };
          this.#reading = undefined;
          if (this.destroyed) return;
          if (bytesRead === 0)
            throw new Error("the spool file is shorter than the bytes written to it");
          this.#position += bytesRead;
          if (!this.push(buffer.subarray(0, bytesRead))) return;
          continue;
        }
        if (fill.state === "failed") {
          this.destroy(fill.error);
          return;
        }
        const complete = verified && this.#position >= Math.min(fill.written, spanEnd);
        if (complete) {
          this.push(null);
          return;
        }
        await fill.nextChange();
      }
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#pumping = false;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A read under way still uses the spool: release it only when that read is over.
    const reading = this.#reading ?? Promise.resolve();
    reading.then(
      () => this.fill.release(),
      () => this.fill.release(),
    );
    callback(error);
  }
}
