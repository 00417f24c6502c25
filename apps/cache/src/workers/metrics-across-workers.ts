/**
 * One `/metrics` answer for all the workers of a cache (docs/adr/0041-metrics-across-workers.md):
 * the first worker asks each other worker for its numbers over the IPC channel, waits a bounded
 * time, checks every answer and merges them with its own (prom-client's AggregatorRegistry);
 * another worker answers those questions and hands a scrape it receives to the first.
 */
import { request } from "node:http";
import { describeError, type Logger } from "@regmirror/core";
import { RegistryError } from "@regmirror/oci-distribution";
import {
  type Aggregator,
  AggregatorRegistry,
  Gauge,
  type PrometheusContentType,
  type Registry,
} from "prom-client";
import type { CacheMetrics } from "../metrics/cache-metrics.js";
import {
  isMessageOf,
  isRecord,
  type MetricsAnswerMessage,
  type MetricsRequestMessage,
} from "./worker-messages.js";
import type { WorkerRole } from "./worker-role.js";

/** One metric as prom-client's `getMetricsAsJSON()` gives it: what crosses the IPC channel. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary";
  aggregator: Aggregator;
  values: MetricSnapshotValue[];
}

interface MetricSnapshotValue {
  value: number;
  labels: Record<string, string | number>;
  /** A histogram's `_bucket`, `_sum` or `_count` series. */
  metricName?: string;
}

const metricTypes = new Map<unknown, MetricSnapshot["type"]>(
  (["counter", "gauge", "histogram", "summary"] as const).map((type) => [type, type]),
);
const aggregators = new Map<unknown, Aggregator>(
  (["omit", "sum", "first", "min", "max", "average"] as const).map((name) => [name, name]),
);
const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function shown(value: unknown): string {
  return JSON.stringify(value)?.slice(0, 60) ?? String(value);
}

function parseValue(value: unknown, where: string): MetricSnapshotValue | string {
  if (!isRecord(value)) return `${where}: expected an object, got ${shown(value)}`;
  // JSON (the IPC channel's encoding) writes NaN and ±Infinity as null.
  const number = value.value === null ? Number.NaN : value.value;
  if (typeof number !== "number") {
    return `${where}.value: expected a number, got ${shown(value.value)}`;
  }
  if (!isRecord(value.labels)) {
    return `${where}.labels: expected an object, got ${shown(value.labels)}`;
  }
  const labels: Record<string, string | number> = {};
  for (const [name, label] of Object.entries(value.labels)) {
    if (!labelName.test(name)) return `${where}.labels: ${shown(name)} is not a label name`;
    if (typeof label !== "string" && typeof label !== "number") {
      return `${where}.labels.${name}: expected a string or a number, got ${shown(label)}`;
    }
    labels[name] = label;
  }
  if (value.metricName !== undefined) {
    if (typeof value.metricName !== "string" || !metricName.test(value.metricName)) {
      return `${where}.metricName: ${shown(value.metricName)} is not a metric name`;
    }
    return { value: number, labels, metricName: value.metricName };
  }
  return { value: number, labels };
}

function parseMetric(metric: unknown, where: string): MetricSnapshot | string {
  if (!isRecord(metric)) return `${where}: expected an object, got ${shown(metric)}`;
  const { name, help, values } = metric;
  if (typeof name !== "string" || !metricName.test(name)) {
    return `${where}.name: ${shown(name)} is not a metric name`;
  }
  if (typeof help !== "string") return `${where}.help: expected a string, got ${shown(help)}`;
  const type = metricTypes.get(metric.type);
  if (type === undefined) {
    return `${where}.type: expected counter, gauge, histogram or summary, got ${shown(metric.type)}`;
  }
  const aggregator = aggregators.get(metric.aggregator);
  if (aggregator === undefined) {
    return `${where}.aggregator: ${shown(metric.aggregator)} is not one of prom-client's aggregators`;
  }
  if (!Array.isArray(values)) return `${where}.values: expected an array, got ${shown(values)}`;
  const parsed: MetricSnapshotValue[] = [];
  for (const [index, value] of values.entries()) {
    const one = parseValue(value, `${where}.values[${index}]`);
    if (typeof one === "string") return one;
    parsed.push(one);
  }
  return { name, help, type, aggregator, values: parsed };
}

/**
 * A worker's metrics as they arrived over IPC, checked field by field (no zod here: the other
 * workers load as little as they can, ADR 0035). A string says what was wrong.
 */
export function parseMetricSnapshots(value: unknown): MetricSnapshot[] | string {
  if (!Array.isArray(value)) return `metrics: expected an array, got ${shown(value)}`;
  const metrics: MetricSnapshot[] = [];
  for (const [index, metric] of value.entries()) {
    const parsed = parseMetric(metric, `metrics[${index}]`);
    if (typeof parsed === "string") return parsed;
    metrics.push(parsed);
  }
  return metrics;
}

/**
 * Node's own series (`process_*`, `nodejs_*`) describe one process each: they keep a `worker`
 * label instead of being merged, so the memory and CPU of every worker stay visible.
 */
const perProcess = /^(process|nodejs)_/;

function ofWorker(metrics: MetricSnapshot[], worker: number): MetricSnapshot[] {
  return metrics.map(
    (metric): MetricSnapshot =>
      perProcess.test(metric.name)
        ? {
            ...metric,
            // One series per worker: nothing left to merge (prom-client omits some by default).
            aggregator: "sum",
            values: metric.values.map((value) => ({
              ...value,
              labels: { ...value.labels, worker: String(worker) },
            })),
          }
        : metric,
  );
}

/** What a worker has counted so far: its counters and histograms, merged across workers. */
function countedBy(metrics: MetricSnapshot[]): MetricSnapshot[] {
  return metrics.filter(
    (metric) =>
      !perProcess.test(metric.name) && (metric.type === "counter" || metric.type === "histogram"),
  );
}

/** The series that say how complete a merged scrape is (documented with the others). */
export function registerWorkerScrapeGauges(registry: Registry): {
  scraped: Gauge;
  notAnswering: Gauge;
} {
  return {
    scraped: new Gauge({
      name: "regmirror_cache_workers_scraped",
      help: "Workers whose numbers this scrape holds, the first included (regmirror.workers above 1)",
      registers: [registry],
    }),
    notAnswering: new Gauge({
      name: "regmirror_cache_workers_not_answering",
      help: "Workers that gave no valid answer in time: their counters are as of their last answer",
      registers: [registry],
    }),
  };
}

/**
 * How long the first worker waits for the others' numbers: well inside Prometheus's default
 * scrape timeout (10 s). Real time on purpose: it protects the scrape against a hung worker.
 */
const answerTimeoutMs = 3000;

/** A scrape in flight: the workers still to answer and the answers so far. */
interface PendingScrape {
  waiting: Set<number>;
  answers: Map<number, MetricSnapshot[]>;
  finish(): void;
}

export interface MetricsAcrossWorkersOptions {
  /** `regmirror.workers`: the first is 0, the others 1 … workers − 1. */
  workers: number;
  logger: Logger;
  /** For tests; see answerTimeoutMs. */
  answerTimeoutMs?: number;
}

/** Sends a request to another worker; `done` gets the error when the channel is closed. */
export type SendMetricsRequest = (
  message: MetricsRequestMessage,
  done: (error: Error | null) => void,
) => void;

/** The first worker's side: whom to ask, their answers, and the merged exposition. */
export interface MetricsAcrossWorkers {
  /** Worker `index` listens: it is asked from the next scrape on. */
  joined(index: number, send: SendMetricsRequest): void;
  /** A message from worker `index`; true when it was a metrics answer (handled here). */
  received(index: number, message: unknown): boolean;
  /** Worker `index` exited: what it counted stays in the sums (its restart starts from zero). */
  exited(index: number): void;
  /** Asks every worker that listens, waits for them (bounded) and merges with `own`. */
  gather(own: Registry): Promise<MergedMetrics>;
  /** The merged metrics as an exposition: the first worker's `/metrics`. */
  render(own: Registry): Promise<{ contentType: string; body: string }>;
}

/** Every worker's metrics in one registry (the status page reads its counts from it too). */
export interface MergedMetrics {
  registry: Registry;
  workers: WorkersAnswered;
}

/** How complete a merged registry is. */
export interface WorkersAnswered {
  /** `regmirror.workers`. */
  count: number;
  /** Workers whose numbers are current, the first included; the others' are as of their last answer. */
  answered: number;
}

export function createMetricsAcrossWorkers(
  options: MetricsAcrossWorkersOptions,
): MetricsAcrossWorkers {
  const { logger } = options;
  const timeoutMs = options.answerTimeoutMs ?? answerTimeoutMs;
  const listening = new Map<number, SendMetricsRequest>();
  const pending = new Map<number, PendingScrape>();
  /** Each worker's counters as of its last valid answer: used when it does not answer. */
  const lastCounted = new Map<number, MetricSnapshot[]>();
  /** What workers that exited had counted, merged: sums never go back when one restarts. */
  let retired: Promise<MetricSnapshot[]> = Promise.resolve([]);
  let nextId = 1;

  function stopWaiting(scrape: PendingScrape, index: number) {
    if (scrape.waiting.delete(index) && scrape.waiting.size === 0) scrape.finish();
  }

  function ask(): Promise<Map<number, MetricSnapshot[]>> {
    const id = nextId;
    nextId += 1;
    const asked = [...listening];
    return new Promise((resolve) => {
      const scrape: PendingScrape = {
        waiting: new Set(asked.map(([index]) => index)),
        answers: new Map(),
        finish() {
          if (!pending.delete(id)) return;
          clearTimeout(timer);
          if (scrape.waiting.size > 0) {
            logger.warn(
              { workers: [...scrape.waiting], timeoutMs },
              "workers did not answer the metrics scrape in time: their last counts are used",
            );
          }
          resolve(scrape.answers);
        },
      };
      const timer = setTimeout(() => scrape.finish(), timeoutMs);
      pending.set(id, scrape);
      if (asked.length === 0) return scrape.finish();
      for (const [index, send] of asked) {
        send({ kind: "metrics-request", id }, (error) => {
          if (error !== null) stopWaiting(scrape, index);
        });
      }
    });
  }

  async function merge(parts: MetricSnapshot[][]): Promise<MetricSnapshot[]> {
    const merged = parseMetricSnapshots(
      await AggregatorRegistry.aggregate<PrometheusContentType>(parts).getMetricsAsJSON(),
    );
    if (typeof merged === "string") throw new Error(`merged metrics are malformed: ${merged}`);
    return merged;
  }

  async function gather(own: Registry): Promise<MergedMetrics> {
    const [answers, ownMetrics] = await Promise.all([ask(), own.getMetricsAsJSON()]);
    const ownParsed = parseMetricSnapshots(ownMetrics);
    if (typeof ownParsed === "string") throw new Error(`own metrics are malformed: ${ownParsed}`);
    // The first worker's own metrics come first: their aggregators (a gauge is the first
    // worker's, a counter a sum) and their order decide the merged exposition's.
    const parts = [ofWorker(ownParsed, 0)];
    let notAnswering = 0;
    for (let index = 1; index < options.workers; index += 1) {
      const answer = answers.get(index);
      if (answer !== undefined) {
        parts.push(ofWorker(answer, index));
      } else {
        notAnswering += 1;
        const counted = lastCounted.get(index);
        if (counted !== undefined) parts.push(counted);
      }
    }
    parts.push(await retired);
    const registry = AggregatorRegistry.aggregate<PrometheusContentType>(parts);
    const answered = options.workers - notAnswering;
    const gauges = registerWorkerScrapeGauges(registry);
    gauges.scraped.set(answered);
    gauges.notAnswering.set(notAnswering);
    return { registry, workers: { count: options.workers, answered } };
  }

  return {
    joined(index, send) {
      listening.set(index, send);
    },
    received(index, message) {
      if (!isMessageOf<MetricsAnswerMessage>(message, ["metrics"])) return false;
      const scrape = typeof message.id === "number" ? pending.get(message.id) : undefined;
      // An answer after its scrape's deadline (or to no scrape) is too late to be used.
      if (scrape === undefined || !scrape.waiting.has(index)) return true;
      const metrics =
        typeof message.error === "string"
          ? `the worker could not read its metrics: ${message.error}`
          : parseMetricSnapshots(message.metrics);
      if (typeof metrics === "string") {
        logger.warn(
          { worker: index, problem: metrics },
          "a worker's metrics answer is malformed: its last counts are used",
        );
      } else {
        scrape.answers.set(index, metrics);
        lastCounted.set(index, countedBy(metrics));
      }
      stopWaiting(scrape, index);
      return true;
    },
    exited(index) {
      listening.delete(index);
      for (const scrape of pending.values()) stopWaiting(scrape, index);
      const counted = lastCounted.get(index);
      lastCounted.delete(index);
      if (counted === undefined) return;
      retired = retired.then(async (before) => {
        try {
          return await merge([before, counted]);
        } catch (error) {
          logger.warn({ error: describeError(error) }, "could not keep an exited worker's counts");
          return before;
        }
      });
    },
    gather,
    async render(own) {
      const { registry } = await gather(own);
      return { contentType: own.contentType, body: await registry.metrics() };
    },
  };
}

/** Another worker's side: answers a scrape's request with this worker's metrics. */
export async function answerMetricsRequest(
  registry: Registry,
  message: MetricsRequestMessage,
  send: (answer: MetricsAnswerMessage) => void,
): Promise<void> {
  let answer: MetricsAnswerMessage;
  try {
    answer = { kind: "metrics", id: message.id, metrics: await registry.getMetricsAsJSON() };
  } catch (error) {
    answer = { kind: "metrics", id: message.id, error: describeError(error) };
  }
  try {
    send(answer);
  } catch {
    // The first worker is gone (closed channel): this worker drains and stops anyway.
  }
}

/** How long another worker waits for the first worker's merged answer. */
const forwardTimeoutMs = 10_000;

/** Another worker's scrape: the first worker's merged answer, over its private socket. */
export function readFirstWorkerMetrics(
  socketPath: string,
  path: string,
): Promise<{ contentType: string; body: string }> {
  const unavailable = () =>
    new RegistryError("UNAVAILABLE", { message: "the cache's first worker did not answer" });
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { socketPath, path, signal: AbortSignal.timeout(forwardTimeoutMs) },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.once("error", () => reject(unavailable()));
        answer.once("end", () => {
          if (answer.statusCode !== 200) return reject(unavailable());
          resolve({
            contentType: answer.headers["content-type"] ?? "text/plain",
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
      },
    );
    outgoing.once("error", () => reject(unavailable()));
    outgoing.end();
  });
}

/**
 * The metrics a worker's listeners use (ADR 0041): with one worker the process's own; in the
 * first of several, `/metrics` merges every worker's; in another, `/metrics` is the first's
 * answer, and this worker's own numbers go to the first when it asks.
 */
export function metricsOfWorkers(
  metrics: CacheMetrics,
  worker: WorkerRole | undefined,
  metricsPath: string,
): CacheMetrics {
  if (worker === undefined) return metrics;
  if (worker.kind === "other") {
    worker.answerScrapes(metrics.registry);
    return {
      ...metrics,
      render: () => readFirstWorkerMetrics(worker.start.primarySocket, metricsPath),
    };
  }
  return { ...metrics, render: () => worker.renderMetrics(metrics.registry) };
}

/** The counts the status page shows, and how many workers they cover (null: one worker). */
export interface CountsOfWorkers {
  registry: Registry;
  workers: WorkersAnswered | null;
}

/**
 * Where the status page reads its counts (ADR 0041): the process's own registry with one
 * worker; in the first of several, every worker's merged as for `/metrics`.
 */
export function countsOfWorkers(
  metrics: CacheMetrics,
  worker: WorkerRole | undefined,
): () => Promise<CountsOfWorkers> {
  if (worker?.kind === "first") return () => worker.gatherMetrics(metrics.registry);
  // One worker (another worker passes the status page on to the first).
  return async () => ({ registry: metrics.registry, workers: null });
}

/**
 * For the first worker's private socket: a request another worker passed on is counted once,
 * by the worker the client reached (it saw the whole duration and sent the bytes).
 */
export function notCountingRequests(metrics: CacheMetrics): CacheMetrics {
  return { ...metrics, requestFinished: () => {}, bytesSent: () => {} };
}
