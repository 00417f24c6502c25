/**
 * A client's reader straight over an upstream download, for a blob the cache has no room to
 * store (docs/adr/0015-filesystem-store-ownership-and-space.md): the bytes pass through, nothing
 * is written. Like the spool reader, it holds back the last byte the client asked for until the
 * whole download is verified, so a corrupt or cut download is never taken for a complete one;
 * for a range it reads on to the end of the blob for that.
 */

import type { Readable } from "node:stream";
import type { BlobReader } from "@regmirror/core";

const empty = Buffer.alloc(0);

export class DirectReader implements BlobReader {
  readonly #chunks: AsyncIterator<Buffer>;
  /** Blob offset of the next byte the download yields. */
  #position = 0;
  /** Bytes of the client's span ready to hand out. */
  #ready: Buffer = empty;
  /** The span's last byte, until the download is verified. */
  #held: Buffer | undefined;
  #finished = false;

  /**
   * Reads bytes `start`..`end` (inclusive) of `download`, a stream that fails at its end when
   * the content does not match its digest. `onBytes` counts what arrives from upstream.
   */
  constructor(
    private readonly download: Readable,
    private readonly start: number,
    private readonly end: number,
    private readonly onBytes: (bytes: number) => void,
  ) {
    this.#chunks = download[Symbol.asyncIterator]();
  }

  async read(buffer: Buffer): Promise<number> {
    while (this.#ready.byteLength === 0) {
      if (this.#finished) return 0;
      const next = await this.#chunks.next();
      if (next.done) {
        // Verified: the held byte is released.
        this.#finished = true;
        this.#ready = this.#held ?? empty;
        this.#held = undefined;
        continue;
      }
      this.#take(next.value);
    }
    const length = Math.min(this.#ready.byteLength, buffer.byteLength);
    this.#ready.copy(buffer, 0, 0, length);
    this.#ready = this.#ready.subarray(length);
    return length;
  }

  /** Keeps the part of `chunk` inside the span; the span's last byte goes to `#held`. */
  #take(chunk: Buffer): void {
    const chunkStart = this.#position;
    this.#position += chunk.byteLength;
    this.onBytes(chunk.byteLength);
    const from = Math.max(this.start, chunkStart);
    const to = Math.min(this.end + 1, this.#position);
    if (from >= to) return;
    let part = chunk.subarray(from - chunkStart, to - chunkStart);
    if (to === this.end + 1) {
      this.#held = part.subarray(part.byteLength - 1);
      part = part.subarray(0, part.byteLength - 1);
    }
    this.#ready = part;
  }

  async close(): Promise<void> {
    this.#finished = true;
    this.download.destroy();
  }
}
