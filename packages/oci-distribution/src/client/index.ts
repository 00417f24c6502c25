// The registry client's public API (see README.md, "Client").
export type { BlobDescriptor, BlobDownload, GetBlobOptions } from "./blob-download.js";
export type { BlobContent, PushBlobOptions, PushBlobResult } from "./blob-upload.js";
export {
  REGISTRY_CLIENT_ERROR_CODES,
  RegistryClientError,
  type RegistryClientErrorCode,
} from "./client-errors.js";
export {
  type BasicCredentials,
  type DockerConfig,
  type DockerConfigAuth,
  dockerConfigCredentials,
  normalizeRegistryKey,
  readDockerConfig,
} from "./docker-config.js";
export type { ObservedResponse } from "./http-transport.js";
export type { ListOptions } from "./listing.js";
export type {
  FetchedManifest,
  ManifestDescriptor,
  ManifestRequestOptions,
  PutManifestResult,
} from "./manifests.js";
export { type ListReferrersOptions, referrersTagFor } from "./referrers.js";
export {
  createRegistryClient,
  type PingResult,
  type RegistryClient,
  type RegistryClientOptions,
} from "./registry-client.js";
export { parseRetryAfter, type RetryOptions } from "./retry.js";
export { type AuthChallenge, parseWwwAuthenticate } from "./www-authenticate.js";
