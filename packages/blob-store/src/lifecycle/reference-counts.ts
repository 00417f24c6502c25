/** Open reads and writes per digest: a blob with a count above zero is never evicted. */
export class ReferenceCounts {
  readonly #counts = new Map<string, number>();

  acquire(digest: string): () => void {
    this.#counts.set(digest, (this.#counts.get(digest) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#counts.get(digest) ?? 1) - 1;
      if (left <= 0) this.#counts.delete(digest);
      else this.#counts.set(digest, left);
    };
  }

  inUse(digest: string): boolean {
    return this.#counts.has(digest);
  }
}
