// A controller: informers feed a work queue whose keys a reconcile function handles.
import { type Clock, describeError, type Logger, silentLogger, systemClock } from "@regmirror/core";
import { ReconcilerError } from "./errors.js";
import type { Informer } from "./informer.js";
import { type KubeObject, objectKey, parseObjectKey } from "./kubernetes-object.js";
import type { RateLimiter } from "./rate-limiter.js";
import { createWorkQueue, type WorkQueue } from "./work-queue.js";

/** What a reconcile is asked to do: bring the object with this key to its desired state. */
export interface ReconcileRequest {
  /** "namespace/name", or "name" for cluster-scoped objects. */
  key: string;
  namespace?: string;
  name: string;
  /** Aborted when the controller is closed without draining. */
  signal: AbortSignal;
}

/** `requeueAfter`: reconcile this key again after so many ms even if nothing changes. */
export type ReconcileResult = { requeueAfter?: number } | undefined;

export interface InformerSource {
  // biome-ignore lint/suspicious/noExplicitAny: any informer, whatever object type it caches.
  informer: Informer<any>;
  /**
   * The keys to reconcile when an object of this informer changes. Default: the object's
   * own key. For owned objects, `ownerKeysOf({ apiVersion, kind, namespaced })`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: matches the informer's object type.
  keysOf?: (object: any) => string[];
}

export interface ControllerOptions {
  /** For logs. */
  name: string;
  /** The first source is usually the primary kind; the others map to its keys. */
  informers: InformerSource[];
  /** Throw to retry the key with per-key exponential backoff. */
  reconcile(request: ReconcileRequest): Promise<ReconcileResult> | ReconcileResult;
  /** Keys reconciled at once (never the same key twice at once). Default 1. */
  concurrency?: number;
  logger?: Logger;
  clock?: Clock;
  /** Default: per-key exponential backoff 5 ms .. 5 min, bounded by 10 retries/s (burst 100). */
  rateLimiter?: RateLimiter;
}

export interface Controller {
  /** Starts the informers, waits until all have synced, then starts the workers. */
  start(): Promise<void>;
  /** Queues a key by hand (e.g. for a periodic full pass). */
  enqueue(key: string): void;
  readonly queue: WorkQueue;
  /**
   * Stops taking new work. With `drain` (the default) the keys already queued and running
   * are finished first; without it running reconciles see their signal abort. The informers
   * are not closed: they may be shared, their creator closes them.
   */
  close(options?: { drain?: boolean }): Promise<void>;
}

function defaultKeys(object: KubeObject): string[] {
  return [objectKey(object)];
}

export function createController(options: ControllerOptions): Controller {
  const { name, informers, reconcile, concurrency = 1, logger = silentLogger } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `createController ${name}: concurrency must be an integer >= 1 (got ${concurrency})`,
    );
  }
  if (informers.length === 0) {
    throw new ReconcilerError(
      "BAD_OPTION",
      `createController ${name}: at least one informer is needed`,
    );
  }
  const clock = options.clock ?? systemClock;
  const queue = createWorkQueue({ clock, rateLimiter: options.rateLimiter });
  const aborting = new AbortController();
  const removers: Array<() => void> = [];
  const workers: Promise<void>[] = [];
  let started: Promise<void> | undefined;
  let closed = false;
  const closingSignal = new AbortController();

  function enqueueFor(source: InformerSource, object: KubeObject): void {
    let keys: string[];
    try {
      keys = (source.keysOf ?? defaultKeys)(object);
    } catch (error) {
      logger.error(
        { controller: name, error: describeError(error) },
        "mapping an object to keys failed",
      );
      return;
    }
    for (const key of keys) queue.add(key);
  }

  async function work(worker: number): Promise<void> {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      const startedAt = clock.now();
      try {
        const result = await reconcile({ key, ...parseObjectKey(key), signal: aborting.signal });
        queue.forget(key);
        if (result?.requeueAfter !== undefined) queue.addAfter(key, result.requeueAfter);
        logger.debug(
          { controller: name, key, worker, tookMs: clock.now() - startedAt },
          "reconciled",
        );
      } catch (error) {
        queue.addRateLimited(key);
        logger.warn(
          { controller: name, key, error: describeError(error), failures: queue.failures(key) },
          "reconcile failed; will retry",
        );
      } finally {
        queue.done(key);
      }
    }
  }

  async function begin(): Promise<void> {
    for (const source of informers) {
      removers.push(
        source.informer.addEventHandler({
          onAdd: (object) => enqueueFor(source, object),
          // Reconcile the keys of both states: an owner reference may have moved.
          onUpdate: (previous, object) => {
            enqueueFor(source, previous);
            enqueueFor(source, object);
          },
          onDelete: (object) => enqueueFor(source, object),
        }),
      );
      source.informer.start();
    }
    // close() must not wait for informers that cannot sync (an unreachable API server).
    const closing = new Promise<void>((resolve) => {
      closingSignal.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.race([
      Promise.all(informers.map((source) => source.informer.waitForSync())),
      closing,
    ]);
    if (closed) return;
    for (let worker = 0; worker < concurrency; worker++) workers.push(work(worker));
    logger.info({ controller: name, concurrency }, "controller started");
  }

  return {
    start() {
      if (closed)
        return Promise.reject(
          new ReconcilerError("CLOSED", `controller ${name}: start() after close()`),
        );
      started ??= begin();
      return started;
    },
    enqueue: (key) => queue.add(key),
    queue,
    async close(closeOptions = {}) {
      closed = true;
      closingSignal.abort();
      for (const remove of removers.splice(0)) remove();
      // Without workers (closed before the informers synced) nothing would drain the queue.
      if (closeOptions.drain === false || workers.length === 0) {
        aborting.abort();
        queue.shutDown();
      } else {
        await queue.shutDownWithDrain();
      }
      await started?.catch(() => {});
      await Promise.all(workers);
      aborting.abort();
      logger.info({ controller: name }, "controller stopped");
    },
  };
}
