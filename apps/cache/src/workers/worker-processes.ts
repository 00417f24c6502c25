/**
 * The processes of a cache with `regmirror.workers` above 1 (docs/adr/0036-worker-processes.md).
 * The first worker (the process `serve` started) starts the others once it listens, tells them
 * the port, its private socket and the token key, keeps the last access of what they serve,
 * tells them what the store evicted, starts a worker again when one dies, and stops them first
 * on shutdown (they pass requests to it). It also answers `/metrics` for all of them
 * (docs/adr/0041-metrics-across-workers.md).
 */
import type { ChildProcess } from "node:child_process";
import type { BlobStore, EvictionEvent } from "@regmirror/blob-store";
import { describeError, type Logger } from "@regmirror/core";
import type { EffectiveCacheConfig } from "@regmirror/schemas";
import type { Registry } from "prom-client";
import type { FollowerStorage } from "./follower-storage.js";
import { answerMetricsRequest, createMetricsAcrossWorkers } from "./metrics-across-workers.js";
import { configForWorkers } from "./worker-config.js";
import {
  type FollowerMessage,
  isMessageOf,
  type ListeningMessage,
  type MetricsRequestMessage,
  type PrimaryMessage,
  type StartMessage,
  type TouchedMessage,
} from "./worker-messages.js";
import type { FirstWorkerRole, OtherWorkerRole } from "./worker-role.js";

/** How often the served digests and evictions are passed on: well inside any TTL. */
const batchIntervalMs = 1000;
const restartDelayMs = 1000;

export interface FirstWorkerOptions {
  /** What the others serve with (sent to them: they load no configuration parser). */
  config: EffectiveCacheConfig;
  workers: number;
  privateSocket: string;
  tokenSecret: string;
  /** Starts another worker: this program, with an IPC channel (process-main.ts). */
  startOther(): ChildProcess;
  logger: Logger;
  /** How long the others may drain on shutdown before they are killed. */
  shutdownGraceMs: number;
}

export interface FirstWorker extends FirstWorkerRole {
  /** Stops the other workers (they drain) and waits for them to exit. */
  stopOthers(): Promise<void>;
}

export function createFirstWorker(options: FirstWorkerOptions): FirstWorker {
  const { logger } = options;
  const others = new Set<ChildProcess>();
  let store: BlobStore | undefined;
  let start: StartMessage | undefined;
  let stopping = false;
  let evicted: string[] = [];
  const metrics = createMetricsAcrossWorkers({ workers: options.workers, logger });

  const broadcast = setInterval(() => {
    if (evicted.length === 0) return;
    const message: PrimaryMessage = { kind: "evicted", digests: evicted };
    evicted = [];
    for (const other of others) if (other.connected) other.send(message);
  }, batchIntervalMs);
  broadcast.unref();

  function startOne(index: number) {
    if (stopping || start === undefined) return;
    const child = options.startOther();
    others.add(child);
    let listened = false;
    // A send to a worker that is already gone fails here: its exit is handled below.
    child.on("error", (error) => {
      logger.warn({ worker: index, error: describeError(error) }, "a worker's channel failed");
    });
    child.on("message", (message: unknown) => {
      if (metrics.received(index, message)) return;
      if (!isMessageOf<TouchedMessage | ListeningMessage>(message, ["touched", "listening"])) {
        return;
      }
      if (message.kind === "listening") {
        listened = true;
        logger.info({ worker: index, pid: child.pid }, "worker listening");
        metrics.joined(index, (request, done) => {
          if (child.connected) child.send(request, done);
          else done(new Error("the worker's channel is closed"));
        });
        return;
      }
      for (const digest of message.digests) {
        store?.touch(digest).catch((error: unknown) => {
          logger.warn({ digest, error: describeError(error) }, "could not keep a last access");
        });
      }
    });
    child.once("exit", (code, signal) => {
      others.delete(child);
      metrics.exited(index);
      if (stopping) return;
      // One that never listened would fail the same way again: no restart loop. This worker
      // serves on, with fewer processes; the other's error is on standard error.
      if (!listened) {
        logger.error(
          { worker: index, code, signal },
          "a worker could not start: not starting it again",
        );
        return;
      }
      logger.error({ worker: index, code, signal }, "a worker exited: starting it again");
      setTimeout(() => startOne(index), restartDelayMs).unref();
    });
    child.send(start);
  }

  return {
    kind: "first",
    privateSocket: options.privateSocket,
    tokenSecret: options.tokenSecret,
    chainEvictions: (onEvict) => (event: EvictionEvent) => {
      onEvict(event);
      evicted.push(event.digest);
    },
    keepAccessesIn(blobStore) {
      store = blobStore;
    },
    renderMetrics: (own) => metrics.render(own),
    gatherMetrics: (own) => metrics.gather(own),
    started(port) {
      start = {
        kind: "start",
        port,
        primarySocket: options.privateSocket,
        tokenSecret: options.tokenSecret,
        config: configForWorkers(options.config),
      };
      for (let index = 1; index < options.workers; index += 1) startOne(index);
    },
    async stopOthers() {
      stopping = true;
      clearInterval(broadcast);
      await Promise.all(
        [...others].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill("SIGKILL"), options.shutdownGraceMs + 5000);
              child.once("exit", () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}

/** This process's channel to the first worker (process.send / process.on("message")). */
export interface WorkerChannel {
  send(message: FollowerMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** Waits for the first worker's start message. */
export function awaitStart(channel: WorkerChannel): Promise<StartMessage> {
  return new Promise((resolve) => {
    channel.onMessage((message) => {
      if (isMessageOf<StartMessage>(message, ["start"])) resolve(message);
    });
  });
}

/** The role of a worker other than the first, once it has the start message. */
export function joinAsOtherWorker(channel: WorkerChannel, start: StartMessage): OtherWorkerRole {
  let storage: FollowerStorage | undefined;
  let registry: Registry | undefined;
  channel.onMessage((message) => {
    if (isMessageOf<MetricsRequestMessage>(message, ["metrics-request"])) {
      if (registry !== undefined && Number.isSafeInteger(message.id)) {
        void answerMetricsRequest(registry, message, channel.send);
      }
      return;
    }
    if (!isMessageOf<PrimaryMessage>(message, ["evicted"]) || message.kind !== "evicted") return;
    for (const digest of message.digests) storage?.forget(digest);
  });
  const report = setInterval(() => {
    const digests = storage?.takeServed() ?? [];
    if (digests.length > 0) channel.send({ kind: "touched", digests });
  }, batchIntervalMs);
  report.unref();
  return {
    kind: "other",
    start,
    tokenSecret: start.tokenSecret,
    attach(followerStorage) {
      storage = followerStorage;
    },
    answerScrapes(metricsRegistry) {
      registry = metricsRegistry;
    },
    started() {
      channel.send({ kind: "listening" });
    },
  };
}
