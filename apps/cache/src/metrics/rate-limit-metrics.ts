/**
 * The Prometheus series of upstream rate limits (docs/adr/0030-upstream-rate-limits.md): what
 * each upstream announces (`ratelimit-limit` / `ratelimit-remaining`), the back-off after a 429,
 * the 429s received and the pulls kept by serving tags from the cache.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { UpstreamRateLimitStatus } from "../pull-through/index.js";

export interface RateLimitMetrics {
  spared(upstream: string): void;
  setSource(read: () => UpstreamRateLimitStatus[]): void;
}

export function registerRateLimitMetrics(registry: Registry, prefix: string): RateLimitMetrics {
  let read: (() => UpstreamRateLimitStatus[]) | undefined;
  /** A gauge per upstream from the statuses; upstreams that announce nothing have no series. */
  const gauge = (
    name: string,
    help: string,
    value: (status: UpstreamRateLimitStatus) => number | undefined,
  ) =>
    new Gauge({
      aggregator: "first",
      name: `${prefix}${name}`,
      help,
      labelNames: ["upstream"],
      registers: [registry],
      collect() {
        this.reset();
        for (const status of read?.() ?? []) {
          const current = value(status);
          if (current !== undefined) this.set({ upstream: status.upstream }, current);
        }
      },
    });
  const gauges: [string, string, (status: UpstreamRateLimitStatus) => number | undefined][] = [
    [
      "upstream_ratelimit_limit",
      "Pulls the upstream allows per window (its ratelimit-limit header)",
      (status) => status.limit,
    ],
    [
      "upstream_ratelimit_remaining",
      "Pulls left in the upstream's window (its ratelimit-remaining header)",
      (status) => status.remaining,
    ],
    [
      "upstream_ratelimit_window_seconds",
      "The upstream's rate-limit window (w= of its headers)",
      (status) => status.windowSeconds,
    ],
    [
      "upstream_ratelimit_headroom",
      "Pulls left at or below which tags the cache holds are served instead of spending pulls",
      (status) => status.headroomPulls,
    ],
    [
      "upstream_backoff_seconds",
      "Seconds every request to the upstream still waits after a 429 (0: none)",
      (status) => Math.max(0, ((status.backOffUntil ?? 0) - Date.now()) / 1000),
    ],
  ];
  for (const [name, help, value] of gauges) gauge(name, help, value);
  new Counter({
    name: `${prefix}upstream_rate_limited_total`,
    help: "429 (Too Many Requests) answers from the upstream",
    labelNames: ["upstream"],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of read?.() ?? []) {
        this.inc({ upstream: status.upstream }, status.rateLimitedAnswers);
      }
    },
  });
  const spared = new Counter({
    name: `${prefix}upstream_ratelimit_spared_total`,
    help: "Tag requests answered from the cache near the rate limit, keeping a pull",
    labelNames: ["upstream"],
    registers: [registry],
  });
  return {
    spared: (upstream) => spared.inc({ upstream }),
    setSource(source) {
      read = source;
    },
  };
}
