// Exponential backoff with jitter, for informer restarts and retries.
import { ReconcilerError } from "./errors.js";

export interface BackoffOptions {
  /** Delay after the first failure. Default 500 ms. */
  initialDelayMs?: number;
  /** Ceiling for the delay. Default 30 s. */
  maxDelayMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /**
   * Fraction of each delay that is randomised, 0..1. Default 0.5: the delay falls in
   * [d * 0.5, d]. Spreads reconnects of many clients after one API server restart.
   */
  jitter?: number;
  /** Source of randomness in [0, 1); inject for deterministic tests. */
  random?: () => number;
}

/** Exponential backoff with jitter; `next()` after each failure, `reset()` after a success. */
export interface Backoff {
  next(): number;
  reset(): void;
  /** Consecutive failures since the last reset. */
  readonly failures: number;
}

export function validateBackoffOptions(options: BackoffOptions, owner: string): void {
  const { initialDelayMs = 500, maxDelayMs = 30_000, factor = 2, jitter = 0.5 } = options;
  if (!(initialDelayMs > 0) || !(maxDelayMs >= initialDelayMs)) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `${owner}: backoff needs 0 < initialDelayMs <= maxDelayMs (got ${initialDelayMs} and ${maxDelayMs})`,
    );
  }
  if (!(factor >= 1)) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `${owner}: backoff factor must be >= 1 (got ${factor})`,
    );
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `${owner}: backoff jitter must be in 0..1 (got ${jitter})`,
    );
  }
}

/** The un-jittered delay after `failures` consecutive failures (1 = the first). */
export function exponentialDelay(
  failures: number,
  initialDelayMs: number,
  maxDelayMs: number,
  factor: number,
): number {
  if (failures <= 0) return 0;
  // After a long outage the power overflows to Infinity, which the cap turns back into a number.
  return Math.min(maxDelayMs, initialDelayMs * factor ** (failures - 1));
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  validateBackoffOptions(options, "createBackoff");
  const {
    initialDelayMs = 500,
    maxDelayMs = 30_000,
    factor = 2,
    jitter = 0.5,
    random = Math.random,
  } = options;
  let failures = 0;
  return {
    next() {
      failures += 1;
      const delay = exponentialDelay(failures, initialDelayMs, maxDelayMs, factor);
      return Math.round(delay * (1 - jitter * random()));
    },
    reset() {
      failures = 0;
    },
    get failures() {
      return failures;
    },
  };
}
