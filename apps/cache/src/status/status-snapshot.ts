/**
 * What the status page shows, gathered at one moment: the counters come from the daemon's
 * Prometheus registry, with several workers all of theirs merged as for /metrics (the page and
 * /metrics show the same numbers because they are the same counters), the rest from the storage
 * (downloads, upstream health, rate limits) and the store, which the first worker owns.
 */
import type { BlobStore } from "@regmirror/blob-store";
import type { Registry } from "prom-client";
import type {
  DownloadProgress,
  UpstreamEndpointHealth,
  UpstreamRateLimitStatus,
} from "../pull-through/index.js";
import type { CountsOfWorkers, WorkersAnswered } from "../workers/metrics-across-workers.js";
import type { PulledImage } from "./pull-counter.js";

export interface StatusSnapshot {
  generatedAt: number;
  requests: {
    blobHits: number;
    blobMisses: number;
    manifestHits: number;
    manifestMisses: number;
    /** Blob hits over blob hits and misses; undefined before the first blob request. */
    blobHitRatio: number | undefined;
    coalescedWaiters: number;
  };
  bytes: {
    /** Blob response bytes sent to clients, from the store or from a download. */
    servedToClients: number;
    /** Bytes received from upstreams (blobs and manifests). */
    fetchedFromUpstream: number;
    /** Blob bytes streamed from the store: what was spared upstream. */
    servedFromStore: number;
  };
  fills: (DownloadProgress & { name: string })[];
  upstreams: {
    name: string;
    endpoints: UpstreamEndpointHealth[];
    rateLimit: UpstreamRateLimitStatus | undefined;
  }[];
  store: { bytes: number; blobs: number; maxBytes: number | null; ttlMs: number | null };
  topImages: PulledImage[];
  /** The replicas sharing downloads with this one (regmirror.peers); null without peers. */
  peers: PeersStatus | null;
  /** The workers whose counts the page holds (regmirror.workers above 1); null with one. */
  workers: WorkersAnswered | null;
  /** What needs attention (an upstream down, a rate limit nearly spent), in words. */
  warnings: string[];
}

export interface PeersStatus {
  /** This replica's own URL. */
  self: string;
  /** The ready members now (the source lists only ready replicas), each with what it gave. */
  members: { url: string; self: boolean; hits: number; misses: number }[];
  /** The share of digests this replica owns: 1 / members, 0 while it is no member. */
  share: number;
}

export interface StatusSources {
  /** The registry the counts are read from, and the workers it covers. */
  counts(): Promise<CountsOfWorkers>;
  metricPrefix: string;
  blobStore: BlobStore;
  downloads(): DownloadProgress[];
  upstreamHealth(): UpstreamEndpointHealth[];
  upstreamRateLimits(): UpstreamRateLimitStatus[];
  upstreamNames: readonly string[];
  /** `registry/repository` of an upstream repository. */
  displayName(upstream: string, repository: string): string;
  topImages(): PulledImage[];
  sizeCapBytes: number | null;
  blobTtlMs: number | null;
  /** The member list; absent without peers. */
  peers?: { self: string; members(): readonly string[] } | undefined;
  now(): number;
}

type Labels = Record<string, string | number | undefined>;

async function counterSum(
  registry: Registry,
  name: string,
  where: (labels: Labels) => boolean = () => true,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values
    .filter((sample) => where(sample.labels as Labels))
    .reduce((total, sample) => total + sample.value, 0);
}

export async function takeStatusSnapshot(sources: StatusSources): Promise<StatusSnapshot> {
  const { metricPrefix: prefix } = sources;
  const { registry, workers } = await sources.counts();
  const kind = (value: string) => (labels: Labels) => labels.kind === value;
  const blobHits = await counterSum(registry, `${prefix}hits_total`, kind("blob"));
  const blobMisses = await counterSum(registry, `${prefix}misses_total`, kind("blob"));
  const health = sources.upstreamHealth();
  const rateLimits = sources.upstreamRateLimits();
  const upstreams = sources.upstreamNames.map((name) => ({
    name,
    endpoints: health.filter((endpoint) => endpoint.upstream === name),
    rateLimit: rateLimits.find((status) => status.upstream === name),
  }));
  const warnings: string[] = [];
  for (const upstream of upstreams) {
    if (upstream.endpoints.length > 0 && upstream.endpoints.every((endpoint) => !endpoint.up)) {
      warnings.push(`upstream ${upstream.name} is down: only cached content is served`);
    }
    const limit = upstream.rateLimit;
    if (limit?.backOffUntil !== undefined) {
      warnings.push(
        `upstream ${upstream.name} answered 429: no request goes to it for ${Math.ceil((limit.backOffUntil - sources.now()) / 1000)} s`,
      );
    } else if (limit?.low) {
      warnings.push(
        `upstream ${upstream.name} has ${limit.remaining} of ${limit.limit} pulls left: tags the cache holds are served instead of spending pulls`,
      );
    }
  }
  if (workers !== null && workers.answered < workers.count) {
    const silent = workers.count - workers.answered;
    warnings.push(
      `${silent} of ${workers.count} workers did not answer in time: their counts are as of their last answer`,
    );
  }
  const usage = await sources.blobStore.usage();
  if (sources.sizeCapBytes !== null && usage.bytes > sources.sizeCapBytes * 0.95) {
    warnings.push("the store is above 95 % of its cap: it evicts content that is still pulled");
  }
  return {
    generatedAt: sources.now(),
    requests: {
      blobHits,
      blobMisses,
      manifestHits: await counterSum(registry, `${prefix}hits_total`, kind("manifest")),
      manifestMisses: await counterSum(registry, `${prefix}misses_total`, kind("manifest")),
      blobHitRatio: blobHits + blobMisses === 0 ? undefined : blobHits / (blobHits + blobMisses),
      coalescedWaiters: await counterSum(registry, `${prefix}coalesced_waiters_total`),
    },
    bytes: {
      servedToClients: await counterSum(
        registry,
        `${prefix}http_response_bytes_total`,
        (labels) => labels.route === "blob",
      ),
      fetchedFromUpstream: await counterSum(registry, `${prefix}upstream_bytes_total`),
      servedFromStore: await counterSum(registry, `${prefix}bytes_served_from_cache_total`),
    },
    fills: sources
      .downloads()
      .filter((download) => download.state === "starting" || download.state === "downloading")
      .map((download) => ({
        ...download,
        name: sources.displayName(download.upstream, download.repository),
      })),
    upstreams,
    store: {
      bytes: usage.bytes,
      blobs: usage.blobs,
      maxBytes: sources.sizeCapBytes,
      ttlMs: sources.blobTtlMs,
    },
    topImages: sources.topImages(),
    peers: await peersStatus(sources, registry),
    workers,
    warnings,
  };
}

async function peersStatus(
  sources: StatusSources,
  registry: Registry,
): Promise<PeersStatus | null> {
  const { peers, metricPrefix: prefix } = sources;
  if (peers === undefined) return null;
  const urls = peers.members();
  const byPeer = (url: string) => (labels: Labels) => labels.peer === url;
  const members = await Promise.all(
    urls.map(async (url) => ({
      url,
      self: url === peers.self,
      hits: await counterSum(registry, `${prefix}peer_hits_total`, byPeer(url)),
      misses: await counterSum(registry, `${prefix}peer_misses_total`, byPeer(url)),
    })),
  );
  const member = urls.includes(peers.self);
  return { self: peers.self, members, share: member ? 1 / urls.length : 0 };
}
