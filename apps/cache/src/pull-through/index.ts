// The pull-through core of the cache daemon (docs/adr/0009-pull-through-blob-fill.md).

export type { DownloadProgress } from "./blob-source.js";
export { type CacheRecords, createCacheRecords } from "./cache-records.js";
export type { CircuitState, UpstreamEndpointHealth } from "./circuit-breaker.js";
export { type HostSegments, routeWithNamespace } from "./namespace-route.js";
export { PullThroughError, type PullThroughErrorCode } from "./pull-through-errors.js";
export {
  type ContentKind,
  noopPullThroughMetrics,
  type PullThroughMetrics,
  type UpstreamOperation,
} from "./pull-through-metrics.js";
export {
  createPullThroughStorage,
  type PullThroughStorage,
  type PullThroughStorageOptions,
} from "./pull-through-storage.js";
export {
  createRegistryRouter,
  hostPathSegment,
  type RegistryRouter,
  type RoutedRepository,
} from "./registry-router.js";
export type { UpstreamClientOptions } from "./upstream-connection.js";
export type { UpstreamErrorKind } from "./upstream-errors.js";
export type { UpstreamRateLimitStatus } from "./upstream-rate-limit.js";
