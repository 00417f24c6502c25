// The merge of several workers' metrics in one process: real prom-client registries, the IPC
// channel replaced by a function call that sends the numbers through JSON as the channel does
// (workers-process.test.ts runs the real processes). Faults a real worker does not produce on
// demand (garbage, silence) are injected here, and the tests say so.
import { capturingLogger } from "@regmirror/core/testing";
import { Gauge, Registry } from "prom-client";
import { describe, expect, test } from "vitest";
import { type CacheMetrics, createCacheMetrics } from "../metrics/cache-metrics.js";
import {
  answerMetricsRequest,
  createMetricsAcrossWorkers,
  type MetricsAcrossWorkers,
} from "./metrics-across-workers.js";

/** The value of one series of a Prometheus text exposition (undefined: no such series). */
function seriesValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const blobRequests = 'regmirror_cache_http_requests_total{route="blob",method="GET",status="200"}';

function served(metrics: CacheMetrics, requests: number) {
  for (let count = 0; count < requests; count += 1) {
    metrics.requestFinished("blob", "GET", 200, 0.01);
  }
}

/** Worker `index` answers every request with `registry`'s numbers, through JSON like IPC. */
function answersFrom(across: MetricsAcrossWorkers, index: number, registry: Registry) {
  across.joined(index, (request, done) => {
    done(null);
    void answerMetricsRequest(registry, request, (answer) =>
      across.received(index, JSON.parse(JSON.stringify(answer))),
    );
  });
}

describe("one /metrics for several workers", () => {
  test("counters and histograms are summed, gauges are the first worker's, Node's series keep a worker label", async () => {
    const first = createCacheMetrics();
    const other = createCacheMetrics();
    served(first, 3);
    served(other, 2);
    first.setStoreCap(1000);
    other.setStoreCap(1000);
    const across = createMetricsAcrossWorkers({ workers: 2, logger: capturingLogger() });
    answersFrom(across, 1, other.registry);

    const { body, contentType } = await across.render(first.registry);

    expect(contentType).toBe(first.registry.contentType);
    expect(seriesValue(body, blobRequests)).toBe(5);
    expect(
      seriesValue(body, 'regmirror_cache_http_request_duration_seconds_count{route="blob"}'),
    ).toBe(5);
    expect(seriesValue(body, "regmirror_cache_store_max_bytes")).toBe(1000);
    expect(body.match(/^regmirror_cache_build_info\{.*\} (\S+)$/m)?.[1]).toBe("1");
    expect(seriesValue(body, 'process_resident_memory_bytes{worker="0"}')).toBeGreaterThan(0);
    expect(seriesValue(body, 'process_resident_memory_bytes{worker="1"}')).toBeGreaterThan(0);
    // prom-client leaves the start time out of a merge; per worker it is kept.
    expect(seriesValue(body, 'process_start_time_seconds{worker="1"}')).toBeGreaterThan(0);
    expect(seriesValue(body, "regmirror_cache_workers_scraped")).toBe(2);
    expect(seriesValue(body, "regmirror_cache_workers_not_answering")).toBe(0);
  });

  test("fault injected: malformed answers are logged with what was wrong and left out", async () => {
    const first = createCacheMetrics();
    served(first, 3);
    const other = createCacheMetrics();
    served(other, 2);
    const good = JSON.parse(JSON.stringify(await other.registry.getMetricsAsJSON()));
    const broken: [unknown, string][] = [
      ["not a list", "metrics: expected an array"],
      [[{ ...good[0], values: "many" }], "metrics[0].values: expected an array"],
      [[{ ...good[0], aggregator: "median" }], `metrics[0].aggregator: "median" is not one`],
      [[{ ...good[0], name: "bad name" }], `metrics[0].name: "bad name" is not a metric name`],
      [
        [{ ...good[0], values: [{ value: "7", labels: {} }] }],
        `metrics[0].values[0].value: expected a number, got "7"`,
      ],
      [
        [{ ...good[0], values: [{ value: 7, labels: { "a-b": "x" } }] }],
        `metrics[0].values[0].labels: "a-b" is not a label name`,
      ],
    ];
    for (const [metrics, problem] of broken) {
      const logger = capturingLogger();
      const across = createMetricsAcrossWorkers({ workers: 2, logger });
      across.joined(1, (request, done) => {
        done(null);
        across.received(1, { kind: "metrics", id: request.id, metrics });
      });
      const { body } = await across.render(first.registry);
      expect(seriesValue(body, blobRequests)).toBe(3);
      expect(seriesValue(body, "regmirror_cache_workers_scraped")).toBe(1);
      expect(seriesValue(body, "regmirror_cache_workers_not_answering")).toBe(1);
      expect(logger.entries).toContainEqual(
        expect.objectContaining({
          level: "warn",
          fields: { worker: 1, problem: expect.stringContaining(problem) },
        }),
      );
    }
  });

  test("fault injected: a worker whose metrics cannot be read says why, and is left out", async () => {
    const first = createCacheMetrics();
    const failing = new Registry();
    new Gauge({
      name: "broken_gauge",
      help: "a gauge whose collect throws",
      registers: [failing],
      collect() {
        throw new Error("no numbers today");
      },
    });
    const logger = capturingLogger();
    const across = createMetricsAcrossWorkers({ workers: 2, logger });
    answersFrom(across, 1, failing);
    const { body } = await across.render(first.registry);
    expect(seriesValue(body, "regmirror_cache_workers_not_answering")).toBe(1);
    expect(body).not.toContain("broken_gauge");
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        fields: { worker: 1, problem: expect.stringContaining("no numbers today") },
      }),
    );
  });

  test("fault injected: a silent worker is counted after the wait, its last counts kept; a late answer is ignored", async () => {
    const first = createCacheMetrics();
    served(first, 3);
    const other = createCacheMetrics();
    served(other, 2);
    const logger = capturingLogger();
    const across = createMetricsAcrossWorkers({ workers: 3, logger, answerTimeoutMs: 50 });
    let silent = false;
    const unanswered: number[] = [];
    across.joined(1, (request, done) => {
      done(null);
      if (silent) unanswered.push(request.id);
      else
        void answerMetricsRequest(other.registry, request, (answer) =>
          across.received(1, JSON.parse(JSON.stringify(answer))),
        );
    });
    // Worker 2 never said it listens: counted as not answering without being waited for.
    const answered = await across.render(first.registry);
    expect(seriesValue(answered.body, blobRequests)).toBe(5);
    expect(seriesValue(answered.body, "regmirror_cache_workers_not_answering")).toBe(1);

    silent = true;
    served(other, 4);
    const { body } = await across.render(first.registry);
    // Its counters as of its last answer: the sum does not go back (no false counter reset).
    expect(seriesValue(body, blobRequests)).toBe(5);
    expect(body).not.toContain('worker="1"');
    expect(seriesValue(body, "regmirror_cache_workers_scraped")).toBe(1);
    expect(seriesValue(body, "regmirror_cache_workers_not_answering")).toBe(2);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: "warn", fields: { workers: [1], timeoutMs: 50 } }),
    );
    // The answer arrives after the scrape was answered: taken as handled, used nowhere.
    const late = JSON.parse(
      JSON.stringify({
        kind: "metrics",
        id: unanswered[0],
        metrics: await other.registry.getMetricsAsJSON(),
      }),
    );
    expect(across.received(1, late)).toBe(true);
  });

  test("a worker that exits and starts again: what it counted stays in the sums", async () => {
    const first = createCacheMetrics();
    served(first, 3);
    const before = createCacheMetrics();
    served(before, 2);
    const across = createMetricsAcrossWorkers({ workers: 2, logger: capturingLogger() });
    answersFrom(across, 1, before.registry);
    expect(seriesValue((await across.render(first.registry)).body, blobRequests)).toBe(5);

    across.exited(1);
    const between = await across.render(first.registry);
    expect(seriesValue(between.body, blobRequests)).toBe(5);
    expect(seriesValue(between.body, "regmirror_cache_workers_not_answering")).toBe(1);

    const restarted = createCacheMetrics();
    served(restarted, 1);
    answersFrom(across, 1, restarted.registry);
    expect(seriesValue((await across.render(first.registry)).body, blobRequests)).toBe(6);
  });

  test("messages that are not metrics answers are left to the caller", () => {
    const across = createMetricsAcrossWorkers({ workers: 2, logger: capturingLogger() });
    expect(across.received(1, { kind: "touched", digests: [] })).toBe(false);
    expect(across.received(1, null)).toBe(false);
    expect(across.received(1, "metrics")).toBe(false);
    // A metrics answer to no scrape: handled (dropped), not passed on.
    expect(across.received(1, { kind: "metrics", id: 99, metrics: [] })).toBe(true);
  });
});
