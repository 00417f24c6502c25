// An informer: list, then watch, relisting on 410 and restarting with backoff when a watch fails.
import {
  type Clock,
  describeError,
  type Logger,
  silentLogger,
  sleep,
  systemClock,
  type Timer,
} from "@regmirror/core";
import { type BackoffOptions, createBackoff } from "./backoff.js";
import { isGone, ReconcilerError } from "./errors.js";
import type { KubernetesClient } from "./kubernetes-client.js";
import type { KubeObject } from "./kubernetes-object.js";
import { MutableObjectStore, type ObjectStore, type StoreChange } from "./object-store.js";
import { readWatchStream, type WatchEvent, watchErrorOf } from "./watch-events.js";

export interface EventHandler<T extends KubeObject> {
  onAdd?(object: T): void;
  onUpdate?(previous: T, object: T): void;
  /** Gets the last state seen; after a relist that may be older than the deletion. */
  onDelete?(object: T): void;
}

export interface Informer<T extends KubeObject = KubeObject> {
  readonly apiVersion: string;
  readonly kind: string;
  /** The local cache, filled by list and kept current by watch. */
  readonly store: ObjectStore<T>;
  /** Starts listing and watching in the background; calling it again does nothing. */
  start(): void;
  /** True once the first list has been loaded into the cache. */
  hasSynced(): boolean;
  /** Resolves once synced; rejects with CLOSED if the informer is closed first. */
  waitForSync(): Promise<void>;
  /**
   * Registers handlers (they run synchronously, in order; a throwing handler is logged).
   * A handler added after sync first gets `onAdd` for every cached object. Returns a remover.
   */
  addEventHandler(handler: EventHandler<T>): () => void;
  /** Stops the watch and any retry; the cache stays readable. */
  close(): Promise<void>;
}

export interface InformerOptions {
  client: KubernetesClient;
  apiVersion: string;
  kind: string;
  /** Only this namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  logger?: Logger;
  clock?: Clock;
  /** Backoff between failed lists / watches. Default 500 ms doubling to 30 s, jitter 0.5. */
  backoff?: BackoffOptions;
  /**
   * The `timeoutSeconds` of each watch request: the server ends the watch after about that
   * long and the informer opens the next from where it was. A random 0..100 % is added so
   * many clients do not reconnect together. Default 300.
   */
  watchTimeoutSeconds?: number;
  /**
   * The watchdog: a watch that has sent no byte for this long is abandoned and reopened,
   * since a dead connection (a vanished server, a dropped NAT entry) may never report an
   * error. Default: twice the watch timeout plus 30 s, which a live watch never reaches.
   */
  silenceTimeoutMs?: number;
  /** Ask for BOOKMARK events, which keep the resourceVersion fresh on quiet watches. Default true. */
  bookmarks?: boolean;
  /** Source of randomness for the watch-timeout spread; inject for deterministic tests. */
  random?: () => number;
}

/** The watch ended cleanly this soon without an event: treat it as a failure, not a loop. */
const suspiciouslyShortWatchMs = 1_000;

/**
 * List + watch of one kind into a local cache, without client-node's informer: this one
 * relists on 410 Gone, backs off with jitter on every other error and never stops on its own,
 * and restarts a watch that went silent.
 */
export function createInformer<T extends KubeObject = KubeObject>(
  options: InformerOptions,
): Informer<T> {
  const {
    client,
    apiVersion,
    kind,
    namespace,
    labelSelector,
    fieldSelector,
    logger = silentLogger,
    clock = systemClock,
    watchTimeoutSeconds = 300,
    bookmarks = true,
    random = Math.random,
  } = options;
  if (!(watchTimeoutSeconds >= 1)) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `createInformer: watchTimeoutSeconds must be >= 1 (got ${watchTimeoutSeconds})`,
    );
  }
  const silenceTimeoutMs = options.silenceTimeoutMs ?? watchTimeoutSeconds * 2_000 + 30_000;
  if (!(silenceTimeoutMs > 0)) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `createInformer: silenceTimeoutMs must be > 0 (got ${silenceTimeoutMs})`,
    );
  }
  const backoff = createBackoff(options.backoff);
  const log = { kind, apiVersion, ...(namespace ? { namespace } : {}) };
  const store = new MutableObjectStore<T>();
  const handlers = new Set<EventHandler<T>>();
  const stopping = new AbortController();
  let synced = false;
  // Where the next watch continues from; undefined means "list first".
  let resourceVersion: string | undefined;
  let running: Promise<void> | undefined;
  const syncWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  function dispatch(change: StoreChange<T>, only?: EventHandler<T>): void {
    for (const handler of only ? [only] : handlers) {
      try {
        if (change.type === "add") handler.onAdd?.(change.object);
        else if (change.type === "update")
          handler.onUpdate?.(change.previous ?? change.object, change.object);
        else handler.onDelete?.(change.object);
      } catch (error) {
        logger.error({ ...log, error: describeError(error) }, "an informer event handler threw");
      }
    }
  }

  async function relist(): Promise<string> {
    const { items, resourceVersion } = await client.list<T>(apiVersion, kind, {
      namespace,
      labelSelector,
      fieldSelector,
      signal: stopping.signal,
    });
    const changes = store.replace(items);
    for (const change of changes) dispatch(change);
    if (!synced) {
      synced = true;
      for (const waiter of syncWaiters.splice(0)) waiter.resolve();
    }
    logger.debug(
      { ...log, objects: items.length, changes: changes.length, resourceVersion },
      "listed",
    );
    return resourceVersion;
  }

  function apply(event: WatchEvent): void {
    const object = event.object as T;
    if (event.type === "DELETED") dispatch(store.remove(object));
    else if (event.type === "ADDED" || event.type === "MODIFIED") dispatch(store.upsert(object));
  }

  /** One watch request from `resourceVersion`, which each event moves; returns the event count. */
  async function watchOnce(fromVersion: string): Promise<number> {
    const path = await client.resources.pathFor({ apiVersion, kind, namespace });
    const label = `watch ${path}`;
    const connection = new AbortController();
    const signal = AbortSignal.any([stopping.signal, connection.signal]);
    let lastActivity = clock.now();
    let silent = false;
    let watchdog: Timer | undefined;
    const arm = (delayMs: number): void => {
      watchdog = clock.setTimer(() => {
        const quietFor = clock.now() - lastActivity;
        if (quietFor < silenceTimeoutMs) return arm(silenceTimeoutMs - quietFor);
        silent = true;
        connection.abort();
      }, delayMs);
    };
    arm(silenceTimeoutMs);
    let events = 0;
    try {
      const timeoutSeconds = Math.floor(watchTimeoutSeconds * (1 + random()));
      const stream = await client.api.stream({
        path,
        query: {
          watch: 1,
          resourceVersion: fromVersion,
          allowWatchBookmarks: bookmarks ? true : undefined,
          timeoutSeconds,
          labelSelector,
          fieldSelector,
        },
        signal,
      });
      await readWatchStream(
        stream.body,
        (event) => {
          if (event.type === "ERROR") throw watchErrorOf(event, label);
          apply(event);
          // Updated per event: a watch that breaks later still resumes after this one.
          resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
          // Events flow again: the connection and credentials are good.
          if (events++ === 0) backoff.reset();
        },
        () => {
          lastActivity = clock.now();
        },
      );
      return events;
    } catch (error) {
      if (silent) {
        throw new ReconcilerError(
          "API_UNREACHABLE",
          `${label} sent nothing for ${silenceTimeoutMs} ms; reopening it`,
        );
      }
      throw error;
    } finally {
      watchdog?.cancel();
      connection.abort();
    }
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await relist();
          backoff.reset();
        }
        const startedAt = clock.now();
        const events = await watchOnce(resourceVersion);
        if (events === 0 && clock.now() - startedAt < suspiciouslyShortWatchMs) {
          throw new ReconcilerError("API_UNREACHABLE", "the watch closed at once without an event");
        }
        backoff.reset();
      } catch (error) {
        if (stopping.signal.aborted) break;
        if (isGone(error)) {
          // The resourceVersion is older than the server keeps: only a relist can catch up.
          logger.info({ ...log, resourceVersion }, "resourceVersion expired (410 Gone); relisting");
          resourceVersion = undefined;
          continue;
        }
        const delayMs = backoff.next();
        logger.warn(
          { ...log, error: describeError(error), retryInMs: delayMs, failures: backoff.failures },
          resourceVersion === undefined ? "list failed" : "watch failed",
        );
        await sleep(clock, delayMs, stopping.signal);
      }
    }
  }

  return {
    apiVersion,
    kind,
    store,
    start() {
      if (stopping.signal.aborted)
        throw new ReconcilerError("CLOSED", `informer for ${kind}: start() after close()`);
      running ??= run();
    },
    hasSynced: () => synced,
    waitForSync() {
      if (synced) return Promise.resolve();
      if (stopping.signal.aborted) {
        return Promise.reject(
          new ReconcilerError("CLOSED", `informer for ${kind} closed before it synced`),
        );
      }
      return new Promise((resolve, reject) => syncWaiters.push({ resolve, reject }));
    },
    addEventHandler(handler) {
      handlers.add(handler);
      if (synced) for (const object of store.list()) dispatch({ type: "add", object }, handler);
      return () => {
        handlers.delete(handler);
      };
    },
    async close() {
      stopping.abort();
      for (const waiter of syncWaiters.splice(0)) {
        waiter.reject(
          new ReconcilerError("CLOSED", `informer for ${kind} closed before it synced`),
        );
      }
      await running;
    },
  };
}
