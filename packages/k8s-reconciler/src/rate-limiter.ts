// How long a key waits before it is retried: per-key backoff and a token bucket.
import type { Clock } from "@regmirror/core";
import { exponentialDelay } from "./backoff.js";
import { ReconcilerError } from "./errors.js";

/** Decides how long a key waits before it is retried after a failure. */
export interface RateLimiter {
  /** The delay before `key` may be processed again; counts one more failure for it. */
  when(key: string): number;
  /** Forgets the failures of `key` (after it succeeded). */
  forget(key: string): void;
  /** Consecutive failures recorded for `key`. */
  failures(key: string): number;
}

export interface PerKeyBackoffOptions {
  /** Delay after a key's first failure. Default 5 ms (a quick retry for a transient conflict). */
  initialDelayMs?: number;
  /** Ceiling of a key's delay. Default 5 minutes. */
  maxDelayMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
}

/** Exponential backoff per key: a key that keeps failing waits longer, others are unaffected. */
export function createPerKeyBackoff(options: PerKeyBackoffOptions = {}): RateLimiter {
  const { initialDelayMs = 5, maxDelayMs = 5 * 60_000, factor = 2 } = options;
  if (!(initialDelayMs > 0) || !(maxDelayMs >= initialDelayMs) || !(factor >= 1)) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `per-key backoff needs 0 < initialDelayMs <= maxDelayMs and factor >= 1 (got ${initialDelayMs}, ${maxDelayMs}, ${factor})`,
    );
  }
  const counts = new Map<string, number>();
  return {
    when(key) {
      const failures = (counts.get(key) ?? 0) + 1;
      counts.set(key, failures);
      return exponentialDelay(failures, initialDelayMs, maxDelayMs, factor);
    },
    forget(key) {
      counts.delete(key);
    },
    failures: (key) => counts.get(key) ?? 0,
  };
}

export interface TokenBucketOptions {
  /** Sustained retries per second across all keys. Default 10. */
  perSecond?: number;
  /** Retries allowed at once before the rate applies. Default 100. */
  burst?: number;
  clock: Clock;
}

/**
 * A global limit on retries: each `when()` takes a token and returns how long the caller must
 * wait for it. Keeps a storm of failing keys from hammering the API server.
 */
export function createTokenBucket(options: TokenBucketOptions): RateLimiter {
  const { perSecond = 10, burst = 100, clock } = options;
  if (!(perSecond > 0) || !(burst >= 1)) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `token bucket needs perSecond > 0 and burst >= 1 (got ${perSecond} and ${burst})`,
    );
  }
  let tokens = burst;
  let updatedAt = clock.now();
  return {
    when() {
      const now = clock.now();
      tokens = Math.min(burst, tokens + ((now - updatedAt) / 1000) * perSecond);
      updatedAt = now;
      tokens -= 1;
      // A negative balance is the queue of reservations ahead: wait until it is paid back.
      return tokens >= 0 ? 0 : Math.ceil((-tokens / perSecond) * 1000);
    },
    forget() {},
    failures: () => 0,
  };
}

/** The longest delay any of `limiters` asks for; failures are those of the first limiter. */
export function maxOfRateLimiters(...limiters: RateLimiter[]): RateLimiter {
  return {
    when: (key) => Math.max(0, ...limiters.map((limiter) => limiter.when(key))),
    forget(key) {
      for (const limiter of limiters) limiter.forget(key);
    },
    failures: (key) => Math.max(0, ...limiters.map((limiter) => limiter.failures(key))),
  };
}

/** client-go's default: per-key exponential backoff, bounded by a global token bucket. */
export function createDefaultRateLimiter(
  clock: Clock,
  options: { perKey?: PerKeyBackoffOptions; global?: Omit<TokenBucketOptions, "clock"> } = {},
): RateLimiter {
  return maxOfRateLimiters(
    createPerKeyBackoff(options.perKey),
    createTokenBucket({ ...options.global, clock }),
  );
}
