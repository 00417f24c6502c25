/**
 * Recently served content kept in memory by digest (manifests, small blobs), so a HEAD or GET
 * of it reads no file. A copy only: the store still decides whether the content exists (the
 * caller asks it with `touch`, which also keeps its last access for the TTL and the size cap),
 * so an eviction there is never hidden by this memory. Bounded by bytes, least recently used
 * first.
 */
import type { BlobReader, OpenedBlob } from "@regmirror/core";
import type { BufferedBlob } from "@regmirror/oci-distribution";

/** What can be remembered: content under its digest. */
export interface RememberedContent {
  readonly digest: string;
  readonly bytes: Uint8Array;
}

export class ContentMemory<Content extends RememberedContent> {
  readonly #entries = new Map<string, Content>();
  #bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(digest: string): Content | undefined {
    const content = this.#entries.get(digest);
    if (content !== undefined) {
      // Map order is insertion order: re-inserting makes it the most recently used.
      this.#entries.delete(digest);
      this.#entries.set(digest, content);
    }
    return content;
  }

  remember(content: Content): void {
    const size = content.bytes.byteLength;
    if (size > this.maxBytes) return;
    this.forget(content.digest);
    this.#entries.set(content.digest, content);
    this.#bytes += size;
    for (const [digest] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.forget(digest);
    }
  }

  forget(digest: string): void {
    const content = this.#entries.get(digest);
    if (content === undefined) return;
    this.#entries.delete(digest);
    this.#bytes -= content.bytes.byteLength;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

/** Blobs up to this size are kept in memory once read whole from the store (ADR 0035). */
export const smallBlobMaxBytes = 64 * 1024;
/** Reads a blob in memory; a class, so a small blob GET makes no closures (ADR 0035). */
class MemoryReader implements BlobReader {
  #offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  async read(buffer: Buffer): Promise<number> {
    const length = Math.min(buffer.byteLength, this.bytes.byteLength - this.#offset);
    buffer.set(this.bytes.subarray(this.#offset, this.#offset + length));
    this.#offset += length;
    return length;
  }

  async close(): Promise<void> {}
}

/** A blob in memory as an opened blob: sent in one write, or read through its reader. */
export function bufferedBlob({ digest, bytes }: RememberedContent): BufferedBlob {
  return {
    digest,
    size: bytes.byteLength,
    start: 0,
    end: bytes.byteLength - 1,
    bytes,
    reader: new MemoryReader(bytes),
  };
}

/** A blob streamed from the store, each byte read counted (a client may stop midway). */
export function countingReads(opened: OpenedBlob, count: (bytes: number) => void): OpenedBlob {
  const { reader } = opened;
  return {
    ...opened,
    reader: {
      async read(buffer) {
        const bytesRead = await reader.read(buffer);
        count(bytesRead);
        return bytesRead;
      },
      close: () => reader.close(),
    },
  };
}

/** Reads a whole opened blob into one buffer and closes it. */
export async function readWhole(opened: OpenedBlob): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(opened.size);
  try {
    let filled = 0;
    while (filled < bytes.byteLength) {
      const bytesRead = await opened.reader.read(bytes.subarray(filled));
      if (bytesRead === 0) throw new Error(`${opened.digest} ended after ${filled} bytes`);
      filled += bytesRead;
    }
  } finally {
    await opened.reader.close();
  }
  return bytes;
}
