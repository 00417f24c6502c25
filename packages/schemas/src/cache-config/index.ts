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
export { cacheConfigDefaults, dockerHubUpstream } from "./default-cache-config.js";
export {
  dockerHubAliases,
  dockerHubEndpoint,
  dockerHubHosts,
  isDockerHubHost,
} from "./docker-hub.js";
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
export { formatListenAddress, type ListenAddress, parseListenAddress } from "./listen-address.js";
export {
  type NormalizeCacheConfigOptions,
  normalizeCacheConfig,
} from "./normalize-cache-config.js";
export { peerMemberUrl } from "./normalize-peers.js";
export { loadCacheConfigFromYaml, parseCacheConfigYaml } from "./parse-cache-config-yaml.js";
export { SecretValue } from "./secret-value.js";
