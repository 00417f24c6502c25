// Warm requests, deduplicated and bounded: each mirror warms at most its concurrency of images at
// once, an image queued or warming is not queued again, and one warmed recently is not asked twice.
import { type Clock, describeError, type Logger, silentLogger, systemClock } from "@regmirror/core";

export interface WarmJob {
  mirror: string;
  /** The normalised reference, e.g. docker.io/library/nginx:1.27. */
  image: string;
}

/** warmed: the cache downloaded something; already-cached: it had every blob. */
export type WarmOutcome = "warmed" | "already-cached";

export interface WarmQueueOptions {
  warm(job: WarmJob): Promise<WarmOutcome>;
  /** Images of `mirror` warmed at once. */
  concurrency(mirror: string): number;
  /** A warmed image is not asked for again this long (a moved tag is caught after it). */
  rememberMs: number;
  onFinished?(job: WarmJob, outcome: WarmOutcome | "failed"): void;
  logger?: Logger;
  clock?: Clock;
}

export interface WarmQueue {
  /** False when the image is queued, warming or warmed recently for that mirror. */
  add(job: WarmJob): boolean;
  /** Jobs queued or running. */
  size(): number;
  /** Drops what is queued; running requests finish. */
  close(): void;
}

export function createWarmQueue(options: WarmQueueOptions): WarmQueue {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const queued = new Map<string, WarmJob[]>();
  const running = new Map<string, number>();
  const known = new Set<string>();
  const warmedAt = new Map<string, number>();
  let closed = false;
  const keyOf = (job: WarmJob) => `${job.mirror}\0${job.image}`;

  const pump = (mirror: string): void => {
    const waiting = queued.get(mirror) ?? [];
    while (
      !closed &&
      waiting.length > 0 &&
      (running.get(mirror) ?? 0) < options.concurrency(mirror)
    ) {
      const job = waiting.shift() as WarmJob;
      running.set(mirror, (running.get(mirror) ?? 0) + 1);
      options
        .warm(job)
        .then(
          (outcome) => {
            warmedAt.set(keyOf(job), clock.now());
            options.onFinished?.(job, outcome);
          },
          (error: unknown) => {
            logger.warn(
              { ...job, error: describeError(error) },
              "warm-ahead: the cache could not warm an image",
            );
            options.onFinished?.(job, "failed");
          },
        )
        .finally(() => {
          known.delete(keyOf(job));
          running.set(mirror, (running.get(mirror) ?? 1) - 1);
          pump(mirror);
        });
    }
  };

  return {
    add(job) {
      const key = keyOf(job);
      const last = warmedAt.get(key);
      if (
        closed ||
        known.has(key) ||
        (last !== undefined && clock.now() - last < options.rememberMs)
      ) {
        return false;
      }
      known.add(key);
      const waiting = queued.get(job.mirror) ?? [];
      waiting.push(job);
      queued.set(job.mirror, waiting);
      pump(job.mirror);
      return true;
    },
    size: () => known.size,
    close() {
      closed = true;
      for (const waiting of queued.values())
        for (const job of waiting.splice(0)) known.delete(keyOf(job));
    },
  };
}
