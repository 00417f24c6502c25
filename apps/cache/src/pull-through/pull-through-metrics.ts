/**
 * What the pull-through storage counts. The daemon wires these hooks to prom-client; the
 * storage itself depends on no metrics library. Every hook must be cheap and must not throw.
 */
import type { UpstreamErrorKind } from "./upstream-errors.js";

export type ContentKind = "blob" | "manifest";

/** Upstream calls whose latency is observed. */
export type UpstreamOperation =
  | "head-manifest"
  | "get-manifest"
  | "head-blob"
  | "get-blob"
  | "list-tags"
  | "list-referrers";

export interface PullThroughMetrics {
  /** Content served from the store without asking upstream. */
  cacheHit(kind: ContentKind): void;
  /** Content not in the store: it is fetched from upstream (once, however many ask). */
  cacheMiss(kind: ContentKind): void;
  /** A request that joined a download another request had started. */
  coalescedWaiter(kind: ContentKind): void;
  /** Bytes of blobs streamed to clients from the store. */
  bytesServedFromCache(bytes: number): void;
  /** A stored blob's GET answered with a 307 to a presigned URL of its S3 object (ADR 0038). */
  blobRedirected(): void;
  /** Bytes received from an upstream (blob bodies and manifests). */
  bytesFromUpstream(upstream: string, bytes: number): void;
  upstreamError(upstream: string, kind: UpstreamErrorKind): void;
  /** Seconds from sending an upstream request to its answer (headers; whole body for manifests). */
  upstreamLatency(upstream: string, operation: UpstreamOperation, seconds: number): void;
  /** A tag, tag list or referrers list answered from the cache because upstream failed or was slow. */
  servedStale(upstream: string, kind: "tag" | "tag-list" | "referrers"): void;
  /**
   * Content served without being stored: `no-space` (streamed through: no room even after
   * eviction), `storage-full` (the disk filled up while it was written).
   */
  blobNotStored(upstream: string, reason: "no-space" | "storage-full"): void;
  /** A tag answered from the cache to keep one of the upstream's last pulls (rate limit). */
  rateLimitSpared(upstream: string): void;
}

export const noopPullThroughMetrics: PullThroughMetrics = {
  cacheHit() {},
  cacheMiss() {},
  coalescedWaiter() {},
  bytesServedFromCache() {},
  blobRedirected() {},
  bytesFromUpstream() {},
  upstreamError() {},
  upstreamLatency() {},
  servedStale() {},
  blobNotStored() {},
  rateLimitSpared() {},
};
