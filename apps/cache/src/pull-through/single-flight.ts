/**
 * Single flight: while work for a key is running, callers with the same key share its result
 * instead of starting it again (one upstream request per manifest, however many clients ask).
 */
export interface SingleFlight<V> {
  /** Runs `work`, or joins the run already under way for `key` (then `onJoin` is called). */
  run(key: string, work: () => Promise<V>, onJoin?: () => void): Promise<V>;
  readonly size: number;
}

export function createSingleFlight<V>(): SingleFlight<V> {
  const running = new Map<string, Promise<V>>();
  return {
    run(key, work, onJoin) {
      const existing = running.get(key);
      if (existing !== undefined) {
        onJoin?.();
        return existing;
      }
      const promise = (async () => work())().finally(() => {
        if (running.get(key) === promise) running.delete(key);
      });
      running.set(key, promise);
      return promise;
    },
    get size() {
      return running.size;
    },
  };
}
