// events.k8s.io/v1 Events, with repeats counted as a series; never throws.
import { randomBytes } from "node:crypto";
import { type Clock, describeError, type Logger, silentLogger, systemClock } from "@regmirror/core";
import { isNotFound } from "./errors.js";
import { type KubernetesClient, PatchType } from "./kubernetes-client.js";
import { describeObject, type KubeObject, referenceTo } from "./kubernetes-object.js";
import { formatMicroTime } from "./time-format.js";

export interface EventInput {
  type: "Normal" | "Warning";
  /** UpperCamelCase, machine readable: "Created", "ApplyFailed". */
  reason: string;
  /** What was done or failed: "Apply", "Delete". */
  action: string;
  /** Human readable; cut to the API's 1 kB limit. */
  note: string;
}

export interface EventRecorder {
  /**
   * Records an Event about `regarding`. Never throws: failing to record must not fail a
   * reconcile; failures are logged. The same event repeated within the series window
   * becomes a count on the first one instead of a new object.
   */
  record(regarding: KubeObject, event: EventInput): Promise<void>;
}

export interface EventRecorderOptions {
  client: KubernetesClient;
  /** Who reports: "example.com/widget-controller". */
  reportingController: string;
  /** Which instance: the pod name, say. */
  reportingInstance: string;
  /** Namespace for events about cluster-scoped objects. Default "default". */
  clusterScopedNamespace?: string;
  /** Repeats within this window join a series. Default 6 minutes (as client-go). */
  seriesWindowMs?: number;
  logger?: Logger;
  clock?: Clock;
}

interface Series {
  namespace: string;
  name: string;
  count: number;
  lastMs: number;
}

const maxNoteBytes = 1024;
const maxNameLength = 253;

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return text;
  // Cutting in the middle of a character leaves U+FFFD at the end: drop it.
  return bytes
    .subarray(0, maxBytes - 3)
    .toString()
    .replace(/\uFFFD$/, "");
}

/** Records events.k8s.io/v1 Events, the API `kubectl events` and `kubectl describe` read. */
export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  const {
    client,
    reportingController,
    reportingInstance,
    clusterScopedNamespace = "default",
    seriesWindowMs = 6 * 60_000,
    logger = silentLogger,
    clock = systemClock,
  } = options;
  const series = new Map<string, Series>();

  function forget(now: number): void {
    for (const [key, entry] of series) if (now - entry.lastMs > seriesWindowMs) series.delete(key);
  }

  return {
    async record(regarding, input) {
      try {
        const reference = referenceTo(regarding, "record an event");
        const namespace = reference.namespace ?? clusterScopedNamespace;
        const now = clock.now();
        forget(now);
        const note = truncateUtf8(input.note, maxNoteBytes);
        const identity = JSON.stringify([
          regarding.metadata?.uid ?? reference.name,
          input.type,
          input.reason,
          input.action,
          note,
        ]);
        const existing = series.get(identity);
        if (existing) {
          try {
            await client.patch(
              {
                apiVersion: "events.k8s.io/v1",
                kind: "Event",
                namespace: existing.namespace,
                name: existing.name,
              },
              { series: { count: existing.count + 1, lastObservedTime: formatMicroTime(now) } },
              PatchType.merge,
            );
            existing.count += 1;
            existing.lastMs = now;
            return;
          } catch (error) {
            // The first event expired (the server keeps events an hour): start a new one.
            if (!isNotFound(error)) throw error;
            series.delete(identity);
          }
        }
        const suffix = `.${now.toString(16)}${randomBytes(2).toString("hex")}`;
        const name = reference.name.slice(0, maxNameLength - suffix.length) + suffix;
        await client.create({
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name, namespace },
          eventTime: formatMicroTime(now),
          reportingController,
          reportingInstance,
          type: input.type,
          reason: input.reason,
          action: input.action,
          note,
          regarding: {
            apiVersion: reference.apiVersion,
            kind: reference.kind,
            name: reference.name,
            ...(reference.namespace ? { namespace: reference.namespace } : {}),
            ...(regarding.metadata?.uid ? { uid: regarding.metadata.uid } : {}),
            ...(regarding.metadata?.resourceVersion
              ? { resourceVersion: regarding.metadata.resourceVersion }
              : {}),
          },
        });
        series.set(identity, { namespace, name, count: 1, lastMs: now });
      } catch (error) {
        logger.warn(
          {
            regarding: describeObject(regarding),
            reason: input.reason,
            error: describeError(error),
          },
          "could not record an event",
        );
      }
    },
  };
}
