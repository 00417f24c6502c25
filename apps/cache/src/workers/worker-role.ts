/**
 * A cache process's part when `regmirror.workers` is above 1 (docs/adr/0036-worker-processes.md):
 * the first worker owns the store and does everything a single process does; each other worker
 * serves stored blobs and manifests by digest from the store's files and passes the rest (and
 * every request of another replica) to the first over its private socket.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { resolve } from "node:path";
import {
  type BlobStore,
  type EvictionEvent,
  openFilesystemStoreReader,
} from "@regmirror/blob-store";
import type { Logger } from "@regmirror/core";
import {
  createRegistryHandler,
  matchRegistryRoute,
  RegistryError,
  type RegistryHandler,
  type RegistryRoute,
  sendRegistryError,
} from "@regmirror/oci-distribution";
import type { EffectiveCacheConfig } from "@regmirror/schemas";
import type { Registry } from "prom-client";
import type { ClientAuth } from "../auth/client-auth.js";
import type { RequestEntries } from "../daemon/cache-registry-handler.js";
import type { OwnRoute } from "../daemon/cache-request-handler.js";
import { peerHeader } from "../peers/peer-signature.js";
import { routeWithNamespace } from "../pull-through/namespace-route.js";
import type { PullThroughMetrics } from "../pull-through/pull-through-metrics.js";
import { createRegistryRouter } from "../pull-through/registry-router.js";
import { createFollowerStorage, type FollowerStorage } from "./follower-storage.js";
import { createPrimaryForwarder } from "./forward-to-primary.js";
import type { MergedMetrics } from "./metrics-across-workers.js";
import type { StartMessage } from "./worker-messages.js";

export interface FirstWorkerRole {
  readonly kind: "first";
  readonly privateSocket: string;
  readonly tokenSecret: string;
  /** The store's eviction hook, also telling the other workers what went. */
  chainEvictions(onEvict: (event: EvictionEvent) => void): (event: EvictionEvent) => void;
  /** The store that keeps the last access of what the other workers serve. */
  keepAccessesIn(store: BlobStore): void;
  /** Listening on `port`: the other workers start. */
  started(port: number): void;
  /** `/metrics` for all the workers: `own` merged with the others' (metrics-across-workers.ts). */
  renderMetrics(own: Registry): Promise<{ contentType: string; body: string }>;
  /** The same, as one registry: what the status page reads its counts from. */
  gatherMetrics(own: Registry): Promise<MergedMetrics>;
}

export interface OtherWorkerRole {
  readonly kind: "other";
  readonly start: StartMessage;
  readonly tokenSecret: string;
  /** The storage whose served digests go to the first worker and which hears of evictions. */
  attach(storage: FollowerStorage): void;
  /** The registry whose numbers this worker sends when the first asks for a scrape. */
  answerScrapes(registry: Registry): void;
  started(port: number): void;
}

export type WorkerRole = FirstWorkerRole | OtherWorkerRole;

function routeOf(request: IncomingMessage): RegistryRoute | undefined {
  const url = request.url ?? "";
  const queryStart = url.indexOf("?");
  return matchRegistryRoute(queryStart < 0 ? url : url.slice(0, queryStart));
}

/** A GET or HEAD whose blob or manifest (by digest) the store holds: served here. */
async function servedHere(
  request: IncomingMessage,
  route: RegistryRoute | undefined,
  storage: FollowerStorage,
): Promise<boolean> {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  return route !== undefined && (await storage.holds(route));
}

/**
 * The registry handler of a worker other than the first, and the route that passes every other
 * path (admin API, status page) to the first.
 */
export function createOtherWorkerHandlers(options: {
  config: EffectiveCacheConfig;
  auth: ClientAuth;
  entries: RequestEntries;
  logger: Logger;
  metrics: Pick<PullThroughMetrics, "cacheHit" | "bytesServedFromCache">;
  worker: WorkerRole | undefined;
}): { registryHandler: RegistryHandler; forwardToFirst: OwnRoute } {
  const { config, worker } = options;
  if (worker?.kind !== "other" || config.storage.kind !== "filesystem") {
    throw new Error("only a worker other than the first, on a filesystem store, has no backend");
  }
  const storage = createFollowerStorage({
    reader: openFilesystemStoreReader(resolve(config.storage.rootDirectory)),
    router: createRegistryRouter({
      upstreams: config.upstreams,
      defaultUpstream: config.defaultUpstream,
    }),
    metrics: options.metrics,
  });
  worker.attach(storage);
  // The cache's stages (cache-registry-handler.ts) over this storage: the endpoint into the
  // access log, the namespace into the repository, then client auth (never pass-through here).
  const local = createRegistryHandler({
    storage,
    logger: options.logger,
    resolveRoute({ request, route, query }) {
      const entry = options.entries.get(request);
      if (entry) entry.route = route.endpoint;
      return routeWithNamespace(route, query, storage.router);
    },
    async authorize({ request, route }) {
      if (options.auth.mode === "none") return;
      const decision = await options.auth.authorize(
        { authorization: request.headers.authorization },
        route,
      );
      if (!decision.allowed) throw decision.error;
      const entry = options.entries.get(request);
      if (decision.user !== undefined && entry) entry.user = decision.user;
    },
  });
  const forwarder = createPrimaryForwarder(worker.start.primarySocket);
  // Pass-through auth asks upstream about each client: that is the first worker's to do.
  const servesStoredContent = config.auth.mode !== "pass-through";

  async function forward(request: IncomingMessage, response: ServerResponse) {
    try {
      await forwarder.forward(request, response, options.entries.get(request)?.requestId ?? "");
    } catch (error) {
      if (!response.headersSent && RegistryError.isInstance(error)) {
        sendRegistryError(request, response, error);
      } else {
        response.destroy();
      }
    }
  }

  const handler = (async (request: IncomingMessage, response: ServerResponse) => {
    const route = routeOf(request);
    // Another replica's signed request: the first worker checks the signature instead of the
    // client auth, and serves it with the peers' rules (docs/adr/0037-dns-members-ipv6-and-workers.md).
    const fromPeer = request.headers[peerHeader] !== undefined;
    if (!fromPeer && servesStoredContent && (await servedHere(request, route, storage))) {
      return local(request, response);
    }
    // This worker's access log line names the endpoint too (the first worker logs its own).
    const entry = options.entries.get(request);
    if (entry !== undefined && route !== undefined) entry.route = route.endpoint;
    return forward(request, response);
  }) as RegistryHandler;
  handler.close = async () => {
    await local.close();
    forwarder.close();
  };
  const forwardToFirst: OwnRoute = async (request, response) => {
    await forward(request, response);
    return true;
  };
  return { registryHandler: handler, forwardToFirst };
}
