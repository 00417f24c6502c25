import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { registerWorkerScrapeGauges } from "../workers/metrics-across-workers.js";
import { createCacheMetrics } from "./cache-metrics.js";

// Every metric the daemon exposes is documented in the README with its labels, and nothing
// documented is missing: a new metric needs its row there.
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

function documented(): Map<string, string[]> {
  const metrics = new Map<string, string[]>();
  // Rows of the metrics table: | `name` | type | `label`, `label` | what it counts |
  for (const [, name, labels] of readme.matchAll(/^\|\s*`(\w+)`\s*\|\s*\w+\s*\|([^|]*)\|/gm)) {
    const names = [...(labels ?? "").matchAll(/`(\w+)`/g)].map((match) => match[1] ?? "");
    metrics.set(name ?? "", names);
  }
  // Node's process metrics, listed in the text as `name{label,label}`.
  for (const [, name, labels] of readme.matchAll(/`((?:process|nodejs)_\w+)(?:\{([\w,]+)\})?`/g)) {
    metrics.set(name ?? "", labels === undefined ? [] : labels.split(","));
  }
  return metrics;
}

test("every metric is documented in the README with its labels, and every documented one exists", () => {
  const { registry } = createCacheMetrics();
  // The series a scrape across several workers adds (docs/adr/0041-metrics-across-workers.md).
  registerWorkerScrapeGauges(registry);
  const exposed = new Map(
    registry.getMetricsAsArray().map((metric) => {
      const { name, labelNames } = metric as unknown as { name: string; labelNames?: string[] };
      return [name, [...(labelNames ?? [])]] as const;
    }),
  );
  expect(Object.fromEntries(documented())).toEqual(Object.fromEntries(exposed));
});
