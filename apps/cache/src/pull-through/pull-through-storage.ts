/**
 * The pull-through backend of the registry server: a read-only RegistryStorage that routes each
 * repository to a configured upstream and serves manifests and blobs from the blob store,
 * fetching what is missing once. The daemon serves it with `createCacheRegistryHandler`.
 */

import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { BlobStore } from "@regmirror/blob-store";
import { type Clock, describeError, type Logger, silentLogger, systemClock } from "@regmirror/core";
import type { RegistryStorage } from "@regmirror/oci-distribution";
import {
  cacheConfigDefaults,
  type EffectiveCacheConfig,
  type EffectiveUpstream,
  type UpstreamBounds,
} from "@regmirror/schemas";
import { createPeerBlobFetcher } from "../peers/peer-blob-fetcher.js";
import { createPeerClient, type PeerTls } from "../peers/peer-client.js";
import { createPeerManifestFetcher } from "../peers/peer-manifest-fetcher.js";
import type { PeerMembership } from "../peers/peer-membership.js";
import type { PeerMetrics } from "../peers/peer-metrics.js";
import { servingPeerRequest } from "../peers/peer-request.js";
import { createBlobSource, type DownloadProgress } from "./blob-source.js";
import { createCacheRecords } from "./cache-records.js";
import type { UpstreamEndpointHealth } from "./circuit-breaker.js";
import { createManifestResolver } from "./manifest-resolver.js";
import { PullThroughError } from "./pull-through-errors.js";
import { noopPullThroughMetrics, type PullThroughMetrics } from "./pull-through-metrics.js";
import { createReferrersLister } from "./referrers-lister.js";
import { createRegistryRouter, type RegistryRouter } from "./registry-router.js";
import { outcomeFor, type RouteOutcome, routedRepository } from "./routed-request.js";
import { createSpoolSpace } from "./spool-space.js";
import { createTagLister } from "./tag-lister.js";
import {
  connectUpstream,
  type UpstreamClientOptions,
  type UpstreamConnection,
} from "./upstream-connection.js";
import type { UpstreamRateLimitStatus } from "./upstream-rate-limit.js";

export interface PullThroughStorageOptions {
  upstreams: readonly EffectiveUpstream[];
  /** The upstream for paths that name no registry (EffectiveCacheConfig.defaultUpstream). */
  defaultUpstream: string | null;
  blobStore: BlobStore;
  /** Where downloads are spooled while clients follow them; created when missing. */
  spoolDirectory: string;
  /** How long a resolved tag is trusted before upstream is asked again; 0: always ask. */
  tagFreshnessMs: number;
  logger?: Logger;
  metrics?: PullThroughMetrics;
  clock?: Clock;
  /** Timeouts and retries of the upstream clients. */
  upstreamClient?: UpstreamClientOptions;
  /** How long clients wait for upstream, and the circuit breakers; default: the config's defaults. */
  upstreamBounds?: UpstreamBounds;
  /** Largest manifest accepted from upstream and read from the store. Default 4 MiB. */
  maxManifestBytes?: number;
  /** The headroom below which pulls are kept, and the back-off after a 429; default: the config's. */
  rateLimits?: EffectiveCacheConfig["rateLimits"];
  /** Replicas that fetch each blob from upstream once between them (docs/adr/0033-cache-peers.md). */
  peers?: PullThroughPeers;
  /**
   * Stored blobs are sent to clients as a 307 to a presigned URL valid this long
   * (docs/adr/0038-s3-redirect-and-shared-sweeps.md); needs a store with `presignedUrl` (S3).
   */
  blobRedirect?: { expiryMs: number } | null | undefined;
}

export interface PullThroughPeers {
  membership: PeerMembership;
  secret: string;
  /** How long a peer may take to start answering before the next one is asked. */
  timeoutMs: number;
  metrics: PeerMetrics;
  /** https members: the CA to trust and the name their certificates carry. */
  tls?: PeerTls | undefined;
}

/** What the daemon's resolveRoute stage hands the storage: the request's repository, routed. */
export type PullThroughRoute = RouteOutcome<UpstreamConnection>;

export interface PullThroughStorage extends RegistryStorage<PullThroughRoute> {
  readonly readOnly: true;
  /** Which registry hosts this cache serves (for `routeWithNamespace` and client auth). */
  readonly router: RegistryRouter<UpstreamConnection>;
  /** Each upstream endpoint's circuit: state, last error, latency (for metrics and status). */
  upstreamHealth(): UpstreamEndpointHealth[];
  /** Each upstream's announced pull limit and back-off (for metrics and status). */
  upstreamRateLimits(): UpstreamRateLimitStatus[];
  /** The blob downloads under way, with their progress and clients (for status). */
  downloads(): DownloadProgress[];
  /** Stops the downloads under way and closes the upstream connections (not the blob store). */
  close(): Promise<void>;
}

const defaultUpstreamBounds: UpstreamBounds = {
  staleAfterMs: cacheConfigDefaults.staleAfterMs,
  uncachedMs: cacheConfigDefaults.uncachedMs,
  circuitBreaker: {
    failures: cacheConfigDefaults.circuitBreakerFailures,
    openForMs: cacheConfigDefaults.circuitBreakerOpenForMs,
  },
};

const defaultMaxManifestBytes = 4 * 1024 * 1024;

const defaultRateLimits: EffectiveCacheConfig["rateLimits"] = {
  headroom: { percent: cacheConfigDefaults.rateLimitHeadroomPercent },
  backOffMs: cacheConfigDefaults.rateLimitBackOffMs,
};

/** Spool files of a run that ended mid-download are of no use. */
async function prepareSpoolDirectory(directory: string, logger: Logger): Promise<void> {
  await mkdir(directory, { recursive: true });
  for (const name of await readdir(directory)) {
    if (!name.endsWith(".spool")) continue;
    await rm(join(directory, name), { force: true });
    logger.info({ file: name }, "removed an unfinished download of an earlier run");
  }
}

export async function createPullThroughStorage(
  options: PullThroughStorageOptions,
): Promise<PullThroughStorage> {
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? noopPullThroughMetrics;
  const clock = options.clock ?? systemClock;
  if (!Number.isFinite(options.tagFreshnessMs) || options.tagFreshnessMs < 0) {
    throw new PullThroughError(
      "INVALID_OPTIONS",
      `tagFreshnessMs must be 0 or more, got ${options.tagFreshnessMs}`,
    );
  }
  const { presignedUrl } = options.blobStore;
  const redirect = options.blobRedirect ?? undefined;
  if (redirect !== undefined && presignedUrl === undefined) {
    throw new PullThroughError(
      "INVALID_OPTIONS",
      "blob redirects need a store that hands out URLs (S3 storage)",
    );
  }
  await prepareSpoolDirectory(options.spoolDirectory, logger);
  const bounds = options.upstreamBounds ?? defaultUpstreamBounds;
  const maxManifestBytes = options.maxManifestBytes ?? defaultMaxManifestBytes;
  const lifetime = new AbortController();
  const { signal } = lifetime;
  const upstreams: UpstreamConnection[] = [];
  try {
    for (const upstream of options.upstreams) {
      upstreams.push(
        await connectUpstream(upstream, {
          logger,
          metrics,
          client: { maximumManifestBytes: maxManifestBytes, ...options.upstreamClient },
          bounds: {
            answerWithinMs: bounds.uncachedMs,
            circuitBreaker: bounds.circuitBreaker,
            rateLimits: options.rateLimits ?? defaultRateLimits,
          },
          // Deadlines and circuit periods run on real time, whatever clock tags are judged by.
          clock: systemClock,
          signal,
        }),
      );
    }
  } catch (error) {
    await Promise.allSettled(upstreams.map((upstream) => upstream.close()));
    throw error;
  }
  const router = createRegistryRouter({ upstreams, defaultUpstream: options.defaultUpstream });
  const byName = new Map(upstreams.map((upstream) => [upstream.name, upstream]));
  const records = createCacheRecords(options.blobStore.metadata);
  const { peers } = options;
  const clientPath = (upstream: UpstreamConnection, repository: string) =>
    router.clientRepositoryName(upstream, repository);
  const manifestPeers =
    peers === undefined
      ? undefined
      : {
          fetcher: createPeerManifestFetcher({
            membership: peers.membership,
            client: createPeerClient({
              self: peers.membership.self,
              secret: peers.secret,
              answerWithinMs: peers.timeoutMs,
              silenceMs: peers.timeoutMs,
              signal,
              tls: peers.tls,
            }),
            metrics: peers.metrics,
            logger,
            maxManifestBytes,
          }),
          clientPath,
        };
  const manifests = createManifestResolver({
    blobStore: options.blobStore,
    records,
    logger,
    metrics,
    clock,
    tagFreshnessMs: options.tagFreshnessMs,
    staleAfterMs: bounds.staleAfterMs,
    maxManifestBytes,
    ...(manifestPeers === undefined ? {} : { peers: manifestPeers }),
  });
  const blobs = createBlobSource({
    blobStore: options.blobStore,
    spoolDirectory: options.spoolDirectory,
    space: createSpoolSpace({ directory: options.spoolDirectory, blobStore: options.blobStore }),
    logger,
    metrics,
    ...(peers === undefined
      ? {}
      : {
          peers: {
            fetcher: createPeerBlobFetcher({
              membership: peers.membership,
              secret: peers.secret,
              answerWithinMs: peers.timeoutMs,
              // A peer streams what upstream sends it: it may be as slow as upstream.
              silenceMs: options.upstreamClient?.timeoutMs ?? 30_000,
              metrics: peers.metrics,
              logger,
              signal,
              tls: peers.tls,
            }),
            metrics: peers.metrics,
            clientPath,
          },
        }),
  });
  const tags = createTagLister({ records, logger, metrics, staleAfterMs: bounds.staleAfterMs });
  const referrers = createReferrersLister({ records, logger, metrics });

  const blobRedirect: PullThroughStorage["blobRedirect"] = async (
    repositoryPath,
    digest,
    context,
  ) => {
    routedRepository(router, repositoryPath, context.routed);
    // A replica reads the bytes it asks a peer for: it never gets a URL (ADR 0038).
    if (redirect === undefined || presignedUrl === undefined || servingPeerRequest()) {
      return undefined;
    }
    // Only a blob the store holds, whole and verified; a blob being filled is sent as it comes.
    const url = await presignedUrl.call(options.blobStore, digest, {
      expiresInSeconds: Math.ceil(redirect.expiryMs / 1000),
    });
    if (url === undefined) return undefined;
    metrics.cacheHit("blob");
    metrics.blobRedirected();
    return url;
  };

  return {
    readOnly: true,
    router,

    async statBlob(repositoryPath, digest, context) {
      const { upstream, repository } = routedRepository(router, repositoryPath, context.routed);
      return blobs.stat(upstream, repository, digest);
    },

    // Only with a redirect configured: the blob endpoint then skips asking on every GET.
    ...(redirect === undefined ? {} : { blobRedirect }),

    // The two calls of every blob and manifest GET are not async: the promise underneath is
    // handed on as it is (an async wrapper adds a promise and ticks per request, ADR 0035); a
    // refusal still comes as a rejected promise.
    openBlob(repositoryPath, digest, range, context) {
      const known = outcomeFor(router, repositoryPath, context.routed);
      if ("refusal" in known) return Promise.reject(known.refusal);
      return blobs.open(known.routed.upstream, known.routed.repository, digest, range);
    },

    getManifest(repositoryPath, reference, context) {
      const known = outcomeFor(router, repositoryPath, context.routed);
      if ("refusal" in known) return Promise.reject(known.refusal);
      const { upstream, repository } = known.routed;
      return reference.includes(":")
        ? manifests.byDigest(upstream, repository, reference)
        : manifests.byTag(upstream, repository, reference);
    },

    async listTags(repositoryPath, context) {
      const { upstream, repository } = routedRepository(router, repositoryPath, context.routed);
      return tags.list(upstream, repository);
    },

    async listReferrers(repositoryPath, subject, context) {
      const { upstream, repository } = routedRepository(router, repositoryPath, context.routed);
      return referrers.list(upstream, repository, subject);
    },

    async listRepositories() {
      const names: string[] = [];
      for await (const cached of records.repositories()) {
        const upstream = byName.get(cached.upstream);
        // Repositories of an upstream that is no longer configured are not reachable.
        if (upstream !== undefined)
          names.push(router.clientRepositoryName(upstream, cached.repository));
      }
      return names;
    },

    upstreamHealth: () => upstreams.flatMap((upstream) => upstream.health()),
    upstreamRateLimits: () => upstreams.map((upstream) => upstream.rateLimit.status()),
    downloads: () => blobs.downloads(),

    async close() {
      lifetime.abort();
      await blobs.drain();
      await Promise.allSettled(upstreams.map((upstream) => upstream.close()));
      logger.debug(
        { error: signal.reason === undefined ? undefined : describeError(signal.reason) },
        "pull-through storage closed",
      );
    },
  };
}
