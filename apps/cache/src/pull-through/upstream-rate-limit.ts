/**
 * What an upstream says about its pull limit, and the one back-off every request to it shares
 * (docs/adr/0030-upstream-rate-limits.md). Docker Hub reports its budget on manifest answers as
 * `ratelimit-limit: 100;w=21600` and `ratelimit-remaining: 76;w=21600`; a 429 (with or without
 * `Retry-After`) makes every request to the upstream wait until the back-off ends, so a crowd
 * of clients does not hammer a registry that asked for patience. Below the headroom, the
 * manifest resolver serves tags it holds instead of spending the last pulls.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Clock, Logger } from "@regmirror/core";
import { parseRetryAfter } from "@regmirror/oci-distribution";
import type { RateLimitHeadroom } from "@regmirror/schemas";

/** What the status page and the metrics show of one upstream's limit. */
export interface UpstreamRateLimitStatus {
  upstream: string;
  /** Pulls per window, from `ratelimit-limit`; undefined until the upstream sent one. */
  limit: number | undefined;
  /** Pulls left in the window, from `ratelimit-remaining`. */
  remaining: number | undefined;
  /** The window in seconds (`w=`), when given. */
  windowSeconds: number | undefined;
  /** When the headers were last read (clock time, ms). */
  observedAt: number | undefined;
  /** Pulls left at or below which tags the cache holds are served instead; undefined: unknown. */
  headroomPulls: number | undefined;
  /** True while at or below the headroom. */
  low: boolean;
  /** While set, no request goes to the upstream (after a 429). */
  backOffUntil: number | undefined;
  /** 429 answers received. */
  rateLimitedAnswers: number;
  /** Tag requests answered from the cache to keep pulls. */
  pullsSpared: number;
}

export interface UpstreamRateLimitOptions {
  upstream: string;
  headroom: RateLimitHeadroom;
  /** The back-off after a 429 that names no Retry-After. */
  backOffMs: number;
  clock: Clock;
  logger: Logger;
}

/** `100;w=21600` → { value: 100, windowSeconds: 21600 }; `76` → { value: 76 }; junk → undefined. */
export function parseRateLimitHeader(
  value: string | string[] | undefined,
): { value: number; windowSeconds: number | undefined } | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const [count, ...parameters] = text.split(";").map((part) => part.trim());
  if (count === undefined || !/^\d{1,12}$/.test(count)) return undefined;
  let windowSeconds: number | undefined;
  for (const parameter of parameters) {
    const window = /^w=(\d{1,12})$/.exec(parameter);
    if (window?.[1] !== undefined) windowSeconds = Number(window[1]);
  }
  return { value: Number(count), windowSeconds };
}

export class UpstreamRateLimit {
  #limit: number | undefined;
  #remaining: number | undefined;
  #windowSeconds: number | undefined;
  #observedAt: number | undefined;
  #backOffUntil: number | undefined;
  #rateLimitedAnswers = 0;
  #pullsSpared = 0;
  #low = false;

  constructor(private readonly options: UpstreamRateLimitOptions) {}

  /** Reads the rate-limit headers of one upstream answer, and starts the back-off on a 429. */
  observe(status: number, headers: IncomingHttpHeaders): void {
    const { clock, logger, upstream } = this.options;
    const now = clock.now();
    const limit = parseRateLimitHeader(headers["ratelimit-limit"]);
    const remaining = parseRateLimitHeader(headers["ratelimit-remaining"]);
    if (limit !== undefined) this.#limit = limit.value;
    if (remaining !== undefined) this.#remaining = remaining.value;
    const windowSeconds = limit?.windowSeconds ?? remaining?.windowSeconds;
    if (windowSeconds !== undefined) this.#windowSeconds = windowSeconds;
    if (limit !== undefined || remaining !== undefined) this.#observedAt = now;
    if (status === 429) {
      this.#rateLimitedAnswers += 1;
      const retryAfter = headers["retry-after"];
      const waitMs =
        parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, now) ??
        this.options.backOffMs;
      const until = now + waitMs;
      const wasBackingOff = this.backOffRemainingMs() > 0;
      if (until > (this.#backOffUntil ?? 0)) this.#backOffUntil = until;
      if (!wasBackingOff) {
        logger.warn(
          { upstream, backOffMs: waitMs, remaining: this.#remaining, limit: this.#limit },
          "upstream rate limit reached (429): every request to it waits until the back-off ends; tags the cache holds are served from it",
        );
      }
    }
    this.#updateLow();
  }

  /** Milliseconds every request to this upstream still has to wait; 0 when it may go. */
  backOffRemainingMs(): number {
    if (this.#backOffUntil === undefined) return 0;
    return Math.max(0, this.#backOffUntil - this.options.clock.now());
  }

  /** At or below the headroom: spend no pull on what the cache can answer. */
  isLow(): boolean {
    return this.#low;
  }

  /** A tag was answered from the cache to keep a pull. */
  spared(): void {
    this.#pullsSpared += 1;
  }

  status(): UpstreamRateLimitStatus {
    const backOff = this.backOffRemainingMs();
    return {
      upstream: this.options.upstream,
      limit: this.#limit,
      remaining: this.#remaining,
      windowSeconds: this.#windowSeconds,
      observedAt: this.#observedAt,
      headroomPulls: this.#headroomPulls(),
      low: this.#low,
      backOffUntil: backOff > 0 ? this.#backOffUntil : undefined,
      rateLimitedAnswers: this.#rateLimitedAnswers,
      pullsSpared: this.#pullsSpared,
    };
  }

  #headroomPulls(): number | undefined {
    const { headroom } = this.options;
    if ("pulls" in headroom) return headroom.pulls;
    return this.#limit === undefined
      ? undefined
      : Math.ceil((this.#limit * headroom.percent) / 100);
  }

  #updateLow(): void {
    const headroom = this.#headroomPulls();
    const low =
      headroom !== undefined && this.#remaining !== undefined && this.#remaining <= headroom;
    if (low === this.#low) return;
    this.#low = low;
    const fields = {
      upstream: this.options.upstream,
      remaining: this.#remaining,
      limit: this.#limit,
      windowSeconds: this.#windowSeconds,
      headroom,
    };
    if (low) {
      this.options.logger.warn(
        fields,
        "upstream rate limit nearly spent: tags the cache holds are served from it instead of spending pulls",
      );
    } else {
      this.options.logger.info(fields, "upstream rate limit has room again");
    }
  }
}
