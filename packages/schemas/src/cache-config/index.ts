// The cache configuration: schema, loader, effective type and problems.
export { formatByteSize, parseByteSize } from "./byte-size.js";
export { type CacheConfigFile, cacheConfigFileSchema } from "./cache-config-schema.js";
export {
  CacheConfigError,
  type ConfigNotice,
  type ConfigProblem,
  formatConfigProblem,
  formatConfigProblems,
} from "./config-problem.js";
// `export *` for the small modules a cache worker uses at run time: a named re-export would make
// this file part of the worker's code, and with it every module it names (zod, yaml), whereas
// the bundler resolves a star export straight to its module (docs/adr/0040-memory-per-worker.md).
export * from "./default-cache-config.js";
export * from "./docker-hub.js";
export type {
  CacheAuthConfig,
  ConfigForm,
  EffectiveCacheConfig,
  EffectiveUpstream,
  LogLevel,
  PeerMembersSource,
  PeersConfig,
  RateLimitHeadroom,
  S3Credentials,
  StorageConfig,
  UpstreamBounds,
  UpstreamCredentials,
} from "./effective-cache-config.js";
export {
  applyEnvironmentOverrides,
  type EnvironmentOverride,
  type EnvironmentOverrideResult,
  environmentPrefix,
} from "./environment-overrides.js";
export * from "./listen-address.js";
export {
  type NormalizeCacheConfigOptions,
  normalizeCacheConfig,
} from "./normalize-cache-config.js";
export { peerMemberUrl } from "./normalize-peers.js";
export { loadCacheConfigFromYaml, parseCacheConfigYaml } from "./parse-cache-config-yaml.js";
export * from "./secret-value.js";
