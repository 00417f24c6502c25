/**
 * Recently served content kept in memory by digest (manifests, small blobs), so a HEAD or GET
 * of it reads no file. A copy only: the store still decides whether the content exists (the
 * caller asks it with `touch`, which also keeps its last access for the TTL and the size cap),
 * so an eviction there is never hidden by this memory. Bounded by bytes, least recently used
 * first.
 */

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
