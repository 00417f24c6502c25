/** A pending timer; `cancel()` is safe to call more than once. */
export interface Timer {
  cancel(): void;
}

/** Time as the library sees it; inject a manual clock to test timing logic without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): Timer;
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimer(callback: () => void, delayMs: number): Timer {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  },
});

/** Resolves after `delayMs` on `clock`, or early (without rejecting) when `signal` aborts. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A clock that only moves when told to: for tests of backoff, queues and leases. */
export interface ManualClock extends Clock {
  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void;
  /** How many timers are waiting. */
  pendingTimers(): number;
}

export function createManualClock(startMs = 0): ManualClock {
  let now = startMs;
  let sequence = 0;
  const timers = new Map<number, { due: number; callback: () => void }>();

  function nextDue(limit: number): number | undefined {
    let found: number | undefined;
    let foundDue = Number.POSITIVE_INFINITY;
    for (const [id, timer] of timers) {
      if (timer.due <= limit && timer.due < foundDue) {
        found = id;
        foundDue = timer.due;
      }
    }
    return found;
  }

  return {
    now: () => now,
    setTimer(callback, delayMs) {
      const id = sequence++;
      timers.set(id, { due: now + Math.max(0, delayMs), callback });
      return { cancel: () => timers.delete(id) };
    },
    advance(ms) {
      const target = now + ms;
      for (let id = nextDue(target); id !== undefined; id = nextDue(target)) {
        const timer = timers.get(id);
        timers.delete(id);
        if (!timer) continue;
        now = Math.max(now, timer.due);
        timer.callback();
      }
      now = target;
    },
    pendingTimers: () => timers.size,
  };
}
