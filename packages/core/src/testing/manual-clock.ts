// A Clock that only moves when the test moves it: TTLs, backoff, queues and leases without waiting.
import type { Clock } from "../clock.js";

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
