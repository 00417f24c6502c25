/**
 * Media types and header names, each with the spec section that defines it.
 */

// OCI image spec v1.1: https://github.com/opencontainers/image-spec/blob/v1.1.1/media-types.md
/** https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md */
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
/** Layers that must not be pushed to other registries (deprecated in image-spec 1.1). */
export const OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar";
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP =
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/** https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidance-for-an-empty-descriptor */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";

// Docker image manifest v2, schema 2:
// https://github.com/distribution/distribution/blob/v2.8.2/docs/spec/manifest-v2-2.md
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
export const DOCKER_LAYER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
export const DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json";

// Docker schema 1 (legacy, refused: docs/adr/0004-legacy-schema1.md):
// https://github.com/distribution/distribution/blob/v2.8.2/docs/spec/manifest-v2-1.md
export const DOCKER_SCHEMA1_MANIFEST = "application/vnd.docker.distribution.manifest.v1+json";
export const DOCKER_SCHEMA1_SIGNED_MANIFEST =
  "application/vnd.docker.distribution.manifest.v1+prettyjws";

/** Every manifest type this package reads; the `Accept` list of manifest requests. */
export const ALL_MANIFEST_MEDIA_TYPES = [
  OCI_INDEX,
  OCI_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST,
] as const;

export type ManifestMediaType = (typeof ALL_MANIFEST_MEDIA_TYPES)[number];

export function isManifestMediaType(value: unknown): value is ManifestMediaType {
  return (ALL_MANIFEST_MEDIA_TYPES as readonly unknown[]).includes(value);
}

/** An index (OCI) or manifest list (Docker): a manifest that points at other manifests. */
export function isIndexMediaType(value: unknown): boolean {
  return value === OCI_INDEX || value === DOCKER_MANIFEST_LIST;
}

export function isSchema1MediaType(value: unknown): boolean {
  return value === DOCKER_SCHEMA1_MANIFEST || value === DOCKER_SCHEMA1_SIGNED_MANIFEST;
}

/** The media type part of a Content-Type header, lowercased, without parameters. */
export function mediaTypeOf(contentType: string | undefined | null): string | undefined {
  if (!contentType) return undefined;
  const type = contentType.split(";", 1)[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

// Header names of the distribution spec:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
export const HEADER_CONTENT_DIGEST = "docker-content-digest";
export const HEADER_API_VERSION = "docker-distribution-api-version";
export const API_VERSION = "registry/2.0";
export const HEADER_UPLOAD_UUID = "docker-upload-uuid";
/** https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-manifests-with-subject */
export const HEADER_OCI_SUBJECT = "oci-subject";
/** https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers */
export const HEADER_OCI_FILTERS_APPLIED = "oci-filters-applied";
export const HEADER_OCI_CHUNK_MIN_LENGTH = "oci-chunk-min-length";

/** The media type of manifest bytes, from their own `mediaType` field. */
export function declaredMediaType(bytes: Uint8Array): string | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
    const mediaType = (value as { mediaType?: unknown } | null)?.mediaType;
    return typeof mediaType === "string" ? mediaType : undefined;
  } catch {
    return undefined;
  }
}
