// Warm-ahead's counters and their Prometheus text: images asked for, and what the cache did.
import { escapeLabel, metric } from "../operator-metrics.js";
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
  const requests = new Map<string, number>();
  const deduplicated = new Map<string, number>();
  const add = (counts: Map<string, number>, key: string) =>
    counts.set(key, (counts.get(key) ?? 0) + 1);
  const sample = (name: string, labels: Record<string, string>, value: number) =>
    `${name}{${Object.entries(labels)
      .map(([key, text]) => `${key}="${escapeLabel(text)}"`)
      .join(",")}} ${value}`;
  return {
    requested(mirror, queued) {
      if (!queued) add(deduplicated, mirror);
    },
    finished: (mirror, outcome) => add(requests, JSON.stringify([mirror, outcome])),
    count: (mirror, outcome) => requests.get(JSON.stringify([mirror, outcome])) ?? 0,
    render() {
      const blocks = [
        metric(
          "regmirror_operator_warm_requests_total",
          "counter",
          "Images warm-ahead asked a mirror's cache to warm, by mirror and result: warmed (the cache downloaded blobs), already-cached (a warm hit: it had them all), failed.",
          [...requests].map(([key, count]) => {
            const [mirror, result] = JSON.parse(key) as [string, string];
            return sample("regmirror_operator_warm_requests_total", { mirror, result }, count);
          }),
        ),
        metric(
          "regmirror_operator_warm_deduplicated_total",
          "counter",
          "Images of new or changed workloads not asked for again: already queued, warming, or warmed in the last 10 minutes.",
          [...deduplicated].map(([mirror, count]) =>
            sample("regmirror_operator_warm_deduplicated_total", { mirror }, count),
          ),
        ),
      ];
      return `${blocks.join("\n")}\n`;
    },
  };
}
