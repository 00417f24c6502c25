/**
 * Retry timing: exponential backoff with full jitter, overridden by the server's `Retry-After`
 * (RFC 9110 §10.2.3: delay-seconds or an HTTP-date).
 */

import { RegistryClientError } from "./client-errors.js";

export interface RetryOptions {
  /** Retries after the first attempt. Default 3; 0 disables retries. */
  retries?: number;
  /** Base of the exponential backoff. Default 200 ms. */
  minDelayMs?: number;
  /** Cap of one backoff delay. Default 10 s. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the error is returned instead. Default 60 s. */
  maxRetryAfterMs?: number;
  /**
   * Retry a 429 (Too Many Requests) like a 503. Default true. False returns it at once (the
   * error carries `retryAfterSeconds`), for callers that share one back-off between requests.
   */
  retryRateLimited?: boolean;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

const numericRetryOptions = ["retries", "minDelayMs", "maxDelayMs", "maxRetryAfterMs"] as const;

export function resolveRetryOptions(given: RetryOptions | undefined = {}): ResolvedRetryOptions {
  // null, from an untyped caller or a JSON config, means the defaults like undefined does.
  const options = given ?? {};
  if (typeof options !== "object") {
    throw new RegistryClientError(
      "INVALID_OPTIONS",
      `retry must be an object like { retries: 3 }, got ${typeof options}`,
    );
  }
  const resolved = {
    retries: options.retries ?? 3,
    minDelayMs: options.minDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 10_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    retryRateLimited: options.retryRateLimited ?? true,
  };
  if (typeof resolved.retryRateLimited !== "boolean") {
    throw new RegistryClientError(
      "INVALID_OPTIONS",
      `retry.retryRateLimited must be true or false, got ${String(resolved.retryRateLimited)}`,
    );
  }
  for (const name of numericRetryOptions) {
    const value = resolved[name];
    if (!Number.isFinite(value) || value < 0) {
      throw new RegistryClientError(
        "INVALID_OPTIONS",
        `retry.${name} must be a non-negative number, got ${String(value)}`,
      );
    }
  }
  return Object.freeze(resolved);
}

/**
 * Milliseconds a `Retry-After` value asks for, or undefined when it is absent or unreadable.
 * A date in the past means "now" (0).
 */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP-date (IMF-fixdate, and the obsolete forms Date.parse also reads); needs a weekday or month name.
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Delay before retry number `attempt` (1 for the first retry): the server's Retry-After when it
 * gave one, else a random delay in [0, min(maxDelay, minDelay * 2^(attempt-1))] ("full jitter").
 * Returns undefined when the server asks for longer than `maxRetryAfterMs`: do not retry.
 */
export function retryDelay(
  attempt: number,
  options: ResolvedRetryOptions,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (retryAfterMs !== undefined) {
    return retryAfterMs > options.maxRetryAfterMs ? undefined : retryAfterMs;
  }
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Waits `ms`, rejecting with ABORTED as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function abortedError(signal: AbortSignal): RegistryClientError {
  return new RegistryClientError("ABORTED", "the request was aborted by the caller", {
    cause: signal.reason,
  });
}
