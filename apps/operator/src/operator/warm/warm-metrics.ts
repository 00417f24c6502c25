// Warm-ahead's counters and their Prometheus text: images asked for, and what the cache did.
import { createLabelledCounter } from "../operator-metrics.js";
import type { WarmOutcome } from "./warm-queue.js";

export interface WarmCounters {
  /** An image of a new or changed workload; `queued` false: already queued or warmed recently. */
  requested(mirror: string, queued: boolean): void;
  finished(mirror: string, outcome: WarmOutcome | "failed"): void;
  /** Warm requests that ended so far, by outcome (for tests and /metrics). */
  count(mirror: string, outcome: WarmOutcome | "failed"): number;
  render(): string;
}

export function createWarmCounters(): WarmCounters {
  const requests = createLabelledCounter(
    "regmirror_operator_warm_requests_total",
    "Images warm-ahead asked a mirror's cache to warm, by mirror and result: warmed (the cache downloaded blobs), already-cached (a warm hit: it had them all), failed.",
    ["mirror", "result"],
  );
  const deduplicated = createLabelledCounter(
    "regmirror_operator_warm_deduplicated_total",
    "Images of new or changed workloads not asked for again: already queued, warming, or warmed in the last 10 minutes.",
    ["mirror"],
  );
  return {
    requested(mirror, queued) {
      if (!queued) deduplicated.add([mirror]);
    },
    finished: (mirror, outcome) => requests.add([mirror, outcome]),
    count: (mirror, outcome) => requests.get([mirror, outcome]),
    render: () => `${requests.render()}\n${deduplicated.render()}\n`,
  };
}
