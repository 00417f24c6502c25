/** Remembers yes/no answers for a while, with a bound on how many it keeps. */
export interface DecisionCache<T> {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
}

export function createDecisionCache<T>(options: {
  ttlMs: number;
  maxEntries?: number;
  now?: () => number;
}): DecisionCache<T> {
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { value: T; expiresAt: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt <= now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value) {
      if (options.ttlMs <= 0) return;
      entries.delete(key);
      // Maps iterate in insertion order: the first entry is the oldest.
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(key, { value, expiresAt: now() + options.ttlMs });
    },
  };
}
