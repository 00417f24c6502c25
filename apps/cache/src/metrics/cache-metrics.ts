/**
 * The daemon's Prometheus metrics (prom-client, one registry per daemon so tests can run
 * several). It implements the pull-through storage's PullThroughMetrics hooks and the blob
 * store's onEvict, and counts HTTP requests by route and status.
 */
import type { EvictionEvent, StoreUsage } from "@regmirror/blob-store";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { buildInfo } from "../build-info.js";
import type { PeerMetrics } from "../peers/peer-metrics.js";
import type {
  PullThroughMetrics,
  UpstreamEndpointHealth,
  UpstreamRateLimitStatus,
} from "../pull-through/index.js";
import { createPeerPrometheusMetrics } from "./peer-prometheus-metrics.js";
import { PendingCounts } from "./pending-counts.js";
import { registerRateLimitMetrics } from "./rate-limit-metrics.js";
import { registerSharedStorageMetrics } from "./shared-storage-metrics.js";

export interface CacheMetrics {
  readonly registry: Registry;
  readonly pullThrough: PullThroughMetrics;
  readonly peers: PeerMetrics;
  /** Pass as the blob store's `onEvict`. */
  onEvict(event: EvictionEvent): void;
  /** A periodic sweep ran, or was left to the replica whose turn it is (ADR 0038). */
  storeSwept(outcome: "swept" | "skipped"): void;
  requestFinished(route: string, method: string, status: number, seconds: number): void;
  /** Response body bytes sent to clients, whatever their source. */
  bytesSent(route: string, bytes: number): void;
  /** Where the store-size gauges read from; set once the store is open. */
  setUsageSource(read: () => Promise<StoreUsage>): void;
  /** Where the per-endpoint `upstream_up` gauge reads from; set once the upstreams are connected. */
  setUpstreamHealthSource(read: () => UpstreamEndpointHealth[]): void;
  /** The store's size cap (`store_max_bytes`); not called when there is none. */
  setStoreCap(maxBytes: number): void;
  /** Where the rate-limit gauges read from; set once the upstreams are connected. */
  setRateLimitSource(read: () => UpstreamRateLimitStatus[]): void;
  /** The Prometheus text exposition. */
  render(): Promise<{ contentType: string; body: string }>;
}

const prefix = "regmirror_cache_";

/**
 * With several workers (docs/adr/0041-metrics-across-workers.md) every gauge here is the first
 * worker's (`aggregator: "first"`: it owns the store and the upstream connections); counters
 * and histograms are summed.
 */
export function createCacheMetrics(): CacheMetrics {
  const registry = new Registry();
  // Node's process metrics under their standard names (process_cpu_seconds_total,
  // process_resident_memory_bytes, nodejs_heap_size_used_bytes, ...), as dashboards expect.
  collectDefaultMetrics({ register: registry });
  let readUsage: (() => Promise<StoreUsage>) | undefined;
  let readUpstreamHealth: (() => UpstreamEndpointHealth[]) | undefined;
  let lastUsage: StoreUsage | undefined;
  let usageRead: Promise<StoreUsage | undefined> | undefined;

  new Gauge({
    aggregator: "first",
    name: `${prefix}build_info`,
    help: "Always 1; the labels say which regmirror-cache and Node run",
    labelNames: ["version", "node_version"],
    registers: [registry],
  }).set({ version: buildInfo.version, node_version: buildInfo.nodeVersion }, 1);

  // The counters every request bumps count in plain numbers until collected (pending-counts.ts).
  const pendingRequests = new PendingCounts(["route", "method", "status"]);
  const pendingBytes = new PendingCounts(["route"]);
  const pendingHits = new PendingCounts(["kind"]);
  new Counter({
    name: `${prefix}http_requests_total`,
    help: "HTTP requests answered, by route, method and status",
    labelNames: ["route", "method", "status"],
    registers: [registry],
    collect() {
      pendingRequests.flushInto(this);
    },
  });
  // One label object per route, not one per request.
  const labelsByRoute = new Map<string, { route: string }>();
  const routeLabels = (route: string) => {
    let labels = labelsByRoute.get(route);
    if (labels === undefined) {
      labels = { route };
      labelsByRoute.set(route, labels);
    }
    return labels;
  };
  const requestSeconds = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: "Time from request to the end of the response, by route",
    labelNames: ["route"],
    buckets: [0.005, 0.025, 0.1, 0.5, 2, 10, 60, 300],
    registers: [registry],
  });
  new Counter({
    name: `${prefix}http_response_bytes_total`,
    help: "Response body bytes sent to clients, by route",
    labelNames: ["route"],
    registers: [registry],
    collect() {
      pendingBytes.flushInto(this);
    },
  });
  new Counter({
    name: `${prefix}hits_total`,
    help: "Content served from the store without asking upstream",
    labelNames: ["kind"],
    registers: [registry],
    collect() {
      pendingHits.flushInto(this);
    },
  });
  const misses = new Counter({
    name: `${prefix}misses_total`,
    help: "Content not in the store, fetched from upstream",
    labelNames: ["kind"],
    registers: [registry],
  });
  const coalesced = new Counter({
    name: `${prefix}coalesced_waiters_total`,
    help: "Requests that joined a download another request had started",
    labelNames: ["kind"],
    registers: [registry],
  });
  const servedFromCache = new Counter({
    name: `${prefix}bytes_served_from_cache_total`,
    help: "Blob bytes streamed to clients from the store",
    registers: [registry],
  });
  const fromUpstream = new Counter({
    name: `${prefix}upstream_bytes_total`,
    help: "Bytes received from upstream registries",
    labelNames: ["upstream"],
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: `${prefix}upstream_errors_total`,
    help: "Failed upstream requests, by kind",
    labelNames: ["upstream", "kind"],
    registers: [registry],
  });
  const upstreamLatency = new Histogram({
    name: `${prefix}upstream_request_duration_seconds`,
    help: "Upstream request latency, by operation",
    labelNames: ["upstream", "operation"],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const servedStale = new Counter({
    name: `${prefix}served_stale_total`,
    help: "Tags and tag lists answered from the cache because upstream failed",
    labelNames: ["upstream", "kind"],
    registers: [registry],
  });
  const notStored = new Counter({
    name: `${prefix}blobs_not_stored_total`,
    help: "Content served without being stored, by reason (no-space: streamed through; storage-full: the disk filled up while writing)",
    labelNames: ["upstream", "reason"],
    registers: [registry],
  });
  new Gauge({
    aggregator: "first",
    name: `${prefix}upstream_up`,
    help: "1 while an upstream endpoint answers, 0 while its circuit breaker has it marked down",
    labelNames: ["upstream", "endpoint"],
    registers: [registry],
    collect() {
      this.reset();
      for (const health of readUpstreamHealth?.() ?? []) {
        this.set({ upstream: health.upstream, endpoint: health.endpoint }, health.up ? 1 : 0);
      }
    },
  });
  const evictions = new Counter({
    name: `${prefix}evictions_total`,
    help: "Blobs removed from the store, by reason (ttl, size-cap, disk-space, manual)",
    labelNames: ["reason"],
    registers: [registry],
  });
  const evictedBytes = new Counter({
    name: `${prefix}evicted_bytes_total`,
    help: "Bytes removed from the store, by reason",
    labelNames: ["reason"],
    registers: [registry],
  });
  // One read of the store per scrape, shared by both gauges (prom-client collects them at once).
  const refreshUsage = () => {
    usageRead ??= (async () => {
      if (readUsage === undefined) return undefined;
      try {
        lastUsage = await readUsage();
      } catch {
        // A store that cannot answer now keeps its last known size.
      }
      return lastUsage;
    })().finally(() => {
      usageRead = undefined;
    });
    return usageRead;
  };
  new Gauge({
    aggregator: "first",
    name: `${prefix}store_bytes`,
    help: "Bytes of content in the store",
    registers: [registry],
    async collect() {
      const usage = await refreshUsage();
      if (usage !== undefined) this.set(usage.bytes);
    },
  });
  new Gauge({
    aggregator: "first",
    name: `${prefix}store_blobs`,
    help: "Blobs in the store",
    registers: [registry],
    async collect() {
      const usage = await refreshUsage();
      if (usage !== undefined) this.set(usage.blobs);
    },
  });

  const storeCap = new Gauge({
    aggregator: "first",
    name: `${prefix}store_max_bytes`,
    help: "The store's size cap in bytes (no series without a cap)",
    registers: [registry],
  });

  const rateLimits = registerRateLimitMetrics(registry, prefix);
  const sharedStorage = registerSharedStorageMetrics(registry, prefix);

  const pullThrough: PullThroughMetrics = {
    cacheHit: (kind) => pendingHits.add(1, kind),
    cacheMiss: (kind) => misses.inc({ kind }),
    coalescedWaiter: (kind) => coalesced.inc({ kind }),
    bytesServedFromCache: (bytes) => servedFromCache.inc(bytes),
    blobRedirected: sharedStorage.blobRedirected,
    bytesFromUpstream: (upstream, bytes) => fromUpstream.inc({ upstream }, bytes),
    upstreamError: (upstream, kind) => upstreamErrors.inc({ upstream, kind }),
    upstreamLatency: (upstream, operation, seconds) =>
      upstreamLatency.observe({ upstream, operation }, seconds),
    servedStale: (upstream, kind) => servedStale.inc({ upstream, kind }),
    blobNotStored: (upstream, reason) => notStored.inc({ upstream, reason }),
    rateLimitSpared: (upstream) => rateLimits.spared(upstream),
  };

  return {
    registry,
    pullThrough,
    peers: createPeerPrometheusMetrics(registry),
    onEvict(event) {
      evictions.inc({ reason: event.reason });
      evictedBytes.inc({ reason: event.reason }, event.size);
    },
    storeSwept: sharedStorage.storeSwept,
    requestFinished(route, method, status, seconds) {
      pendingRequests.add(1, route, method, status);
      requestSeconds.observe(routeLabels(route), seconds);
    },
    bytesSent(route, bytes) {
      if (bytes > 0) pendingBytes.add(bytes, route);
    },
    setUsageSource(read) {
      readUsage = read;
    },
    setUpstreamHealthSource(read) {
      readUpstreamHealth = read;
    },
    setStoreCap(maxBytes) {
      storeCap.set(maxBytes);
    },
    setRateLimitSource(read) {
      rateLimits.setSource(read);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
