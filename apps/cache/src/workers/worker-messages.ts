/**
 * What the first worker and the other workers say to each other over the IPC channel of
 * node:child_process (docs/adr/0036-worker-processes.md). Secrets travel here, never in the
 * environment or on the command line.
 */
import type { WorkerConfig } from "./worker-config.js";

/** First worker → another worker, once: where to listen and what to share. */
export interface StartMessage {
  kind: "start";
  /** The port the first worker listens on (the configured one, or the one port 0 gave). */
  port: number;
  /** The first worker's private socket, for what a worker does not serve itself. */
  primarySocket: string;
  /** The token signing key every worker uses (http.secret, or one made at start-up). */
  tokenSecret: string;
  /** The first worker's configuration: the others load no parser (worker-config.ts). */
  config: WorkerConfig;
}

/** First worker → another worker: the store removed this content; drop copies in memory. */
export interface EvictedMessage {
  kind: "evicted";
  digests: string[];
}

/** Another worker → first worker: content it served, whose last access the store keeps. */
export interface TouchedMessage {
  kind: "touched";
  digests: string[];
}

/** Another worker → first worker: it listens and serves. */
export interface ListeningMessage {
  kind: "listening";
}

/**
 * First worker → another worker: send your metrics for the scrape `id`
 * (docs/adr/0041-metrics-across-workers.md).
 */
export interface MetricsRequestMessage {
  kind: "metrics-request";
  id: number;
}

/**
 * Another worker → first worker: its metrics for the scrape `id` (prom-client's
 * `getMetricsAsJSON()`, checked on arrival: metrics-across-workers.ts), or why it has none.
 */
export interface MetricsAnswerMessage {
  kind: "metrics";
  id: number;
  metrics?: unknown;
  error?: string;
}

export type PrimaryMessage = StartMessage | EvictedMessage | MetricsRequestMessage;
export type FollowerMessage = TouchedMessage | ListeningMessage | MetricsAnswerMessage;

/** A JSON object as it arrives over the channel (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The messages a process accepts: anything else on the channel is ignored. */
export function isMessageOf<T extends { kind: string }>(
  value: unknown,
  kinds: readonly T["kind"][],
): value is T {
  return (
    typeof value === "object" &&
    value !== null &&
    kinds.includes((value as { kind?: unknown }).kind as T["kind"])
  );
}
