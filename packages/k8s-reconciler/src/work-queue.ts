// A work queue of keys: deduplicated, delayed, one worker per key at a time.
import { type Clock, systemClock, type Timer } from "@regmirror/core";
import { createDefaultRateLimiter, type RateLimiter } from "./rate-limiter.js";

/**
 * A queue of keys to reconcile, with the guarantees controllers rely on (client-go's
 * workqueue semantics):
 * - a key is queued at most once, however often it is added;
 * - a key is never handed to two workers at once; one added while it is being processed is
 *   processed again, once, after `done()`;
 * - `addRateLimited()` delays a failing key by per-key exponential backoff and a global limit;
 * - `addAfter()` delays a key; several delays of one key keep the earliest.
 */
export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  /** Adds `key` after the rate limiter's delay, counting one more failure for it. */
  addRateLimited(key: string): void;
  /** Clears `key`'s failure count (call after it was processed successfully). */
  forget(key: string): void;
  /** Consecutive failures counted for `key`. */
  failures(key: string): number;
  /** The next key to process; `undefined` once the queue is shut down and empty. */
  get(): Promise<string | undefined>;
  /** Marks `key` as processed; it is queued again if it was added meanwhile. */
  done(key: string): void;
  /** Keys queued and ready (not those being processed or waiting for a delay). */
  readonly length: number;
  readonly shuttingDown: boolean;
  /** Stops at once: new, queued and delayed keys are dropped; `get()` gives `undefined`. */
  shutDown(): void;
  /**
   * Stops accepting keys and drops delayed ones, but keeps handing out the queued keys
   * (and a key re-added while it ran); resolves once none is queued or being processed.
   */
  shutDownWithDrain(): Promise<void>;
}

export interface WorkQueueOptions {
  clock?: Clock;
  /** Default: per-key exponential backoff (5 ms .. 5 min) bounded by 10/s, burst 100. */
  rateLimiter?: RateLimiter;
}

export function createWorkQueue(options: WorkQueueOptions = {}): WorkQueue {
  const clock = options.clock ?? systemClock;
  const rateLimiter = options.rateLimiter ?? createDefaultRateLimiter(clock);
  // A Set keeps insertion order, so it is both the FIFO and the dedupe index.
  const queued = new Set<string>();
  const processing = new Set<string>();
  const addedWhileProcessing = new Set<string>();
  const delayed = new Map<string, { readyAt: number; timer: Timer }>();
  const waiters: Array<(key: string | undefined) => void> = [];
  const drainWaiters: Array<() => void> = [];
  let shuttingDown = false;

  function takeNext(): string | undefined {
    const next = queued.values().next();
    if (next.done) return undefined;
    queued.delete(next.value);
    processing.add(next.value);
    return next.value;
  }

  function handOut(): void {
    while (waiters.length > 0 && queued.size > 0) {
      waiters.shift()?.(takeNext());
    }
    if (shuttingDown && queued.size === 0) {
      for (const waiter of waiters.splice(0)) waiter(undefined);
    }
  }

  function settleDrain(): void {
    if (!shuttingDown || queued.size > 0 || processing.size > 0) return;
    for (const resolve of drainWaiters.splice(0)) resolve();
  }

  function enqueue(key: string): void {
    if (queued.has(key) || addedWhileProcessing.has(key)) return;
    if (processing.has(key)) {
      addedWhileProcessing.add(key);
      return;
    }
    queued.add(key);
    handOut();
  }

  function stopAccepting(): void {
    shuttingDown = true;
    for (const { timer } of delayed.values()) timer.cancel();
    delayed.clear();
    handOut();
    settleDrain();
  }

  const queue: WorkQueue = {
    add(key) {
      if (shuttingDown) return;
      enqueue(key);
    },
    addAfter(key, delayMs) {
      if (shuttingDown) return;
      if (!(delayMs > 0)) return queue.add(key);
      const readyAt = clock.now() + delayMs;
      const existing = delayed.get(key);
      if (existing && existing.readyAt <= readyAt) return;
      existing?.timer.cancel();
      const timer = clock.setTimer(() => {
        delayed.delete(key);
        queue.add(key);
      }, delayMs);
      delayed.set(key, { readyAt, timer });
    },
    addRateLimited(key) {
      queue.addAfter(key, rateLimiter.when(key));
    },
    forget(key) {
      rateLimiter.forget(key);
    },
    failures: (key) => rateLimiter.failures(key),
    get() {
      const key = takeNext();
      if (key !== undefined) return Promise.resolve(key);
      if (shuttingDown) return Promise.resolve(undefined);
      return new Promise((resolve) => waiters.push(resolve));
    },
    done(key) {
      if (!processing.delete(key)) return;
      // A key added while it was processed was accepted before any shutdown: honour it.
      if (addedWhileProcessing.delete(key)) enqueue(key);
      settleDrain();
    },
    get length() {
      return queued.size;
    },
    get shuttingDown() {
      return shuttingDown;
    },
    shutDown() {
      queued.clear();
      addedWhileProcessing.clear();
      stopAccepting();
    },
    shutDownWithDrain() {
      const drained = new Promise<void>((resolve) => drainWaiters.push(resolve));
      stopAccepting();
      return drained;
    },
  };
  return queue;
}
