/**
 * Recently served manifests kept in memory by digest, so a HEAD or GET of a cached manifest
 * reads no file. A copy only: the store still decides whether the manifest exists (the caller
 * asks it with `touch`, which also keeps its last access for the TTL and the size cap), so an
 * eviction there is never hidden by this memory. Bounded by bytes, least recently used first.
 */
import type { StoredManifest } from "@regmirror/oci-distribution";

export class ManifestMemory {
  readonly #entries = new Map<string, StoredManifest>();
  #bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(digest: string): StoredManifest | undefined {
    const manifest = this.#entries.get(digest);
    if (manifest !== undefined) {
      // Map order is insertion order: re-inserting makes it the most recently used.
      this.#entries.delete(digest);
      this.#entries.set(digest, manifest);
    }
    return manifest;
  }

  remember(manifest: StoredManifest): void {
    const size = manifest.bytes.byteLength;
    if (size > this.maxBytes) return;
    this.forget(manifest.digest);
    this.#entries.set(manifest.digest, manifest);
    this.#bytes += size;
    for (const [digest] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.forget(digest);
    }
  }

  forget(digest: string): void {
    const manifest = this.#entries.get(digest);
    if (manifest === undefined) return;
    this.#entries.delete(digest);
    this.#bytes -= manifest.bytes.byteLength;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
