/**
 * Manifest and index schemas (zod) and the detection of which kind a manifest is.
 * Schemas keep unknown fields: manifests are stored and served byte for byte, these only read them.
 */

import { isDigest } from "@regmirror/core";
import { z } from "zod";
import { RegistryError } from "./errors.js";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isManifestMediaType,
  isSchema1MediaType,
  type ManifestMediaType,
  mediaTypeOf,
  OCI_INDEX,
  OCI_MANIFEST,
} from "./media-types.js";

const digestSchema = z.string().refine(isDigest, { message: "not a sha256 or sha512 digest" });
const annotationsSchema = z.record(z.string(), z.string());

/** https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions (platform) */
export const platformSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  "os.version": z.string().optional(),
  "os.features": z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});
export type Platform = z.infer<typeof platformSchema>;

/** https://github.com/opencontainers/image-spec/blob/v1.1.1/descriptor.md */
export const descriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotationsSchema.optional(),
  data: z.string().optional(),
  artifactType: z.string().optional(),
  platform: platformSchema.optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

/** https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md */
export const ociManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_MANIFEST).optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});
export type OciManifest = z.infer<typeof ociManifestSchema>;

/** https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md */
export const ociIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_INDEX).optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});
export type OciIndex = z.infer<typeof ociIndexSchema>;

/** https://github.com/distribution/distribution/blob/v2.8.2/docs/spec/manifest-v2-2.md#image-manifest-field-descriptions */
export const dockerManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(DOCKER_MANIFEST),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});
export type DockerManifest = z.infer<typeof dockerManifestSchema>;

/** https://github.com/distribution/distribution/blob/v2.8.2/docs/spec/manifest-v2-2.md#manifest-list-field-descriptions */
export const dockerManifestListSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(DOCKER_MANIFEST_LIST),
  manifests: z.array(descriptorSchema),
});
export type DockerManifestList = z.infer<typeof dockerManifestListSchema>;

export type ParsedManifest =
  | { kind: "oci-manifest"; mediaType: typeof OCI_MANIFEST; manifest: OciManifest }
  | { kind: "oci-index"; mediaType: typeof OCI_INDEX; manifest: OciIndex }
  | { kind: "docker-manifest"; mediaType: typeof DOCKER_MANIFEST; manifest: DockerManifest }
  | {
      kind: "docker-manifest-list";
      mediaType: typeof DOCKER_MANIFEST_LIST;
      manifest: DockerManifestList;
    };

function invalid(reason: string): RegistryError {
  return new RegistryError("MANIFEST_INVALID", { detail: { reason } });
}

function decodeJsonObject(bytes: Uint8Array | string): Record<string, unknown> {
  const text =
    typeof bytes === "string"
      ? bytes
      : new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid("the manifest is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("the manifest is not a JSON object");
  }
  return value as Record<string, unknown>;
}

/** The media type a manifest declares, else the header's, else guessed from its fields. */
function detectMediaType(json: Record<string, unknown>, contentType?: string): ManifestMediaType {
  const header = mediaTypeOf(contentType);
  const declared = json.mediaType;
  if (json.schemaVersion === 1 || isSchema1MediaType(declared) || isSchema1MediaType(header)) {
    throw new RegistryError("MANIFEST_INVALID", {
      message: "Docker schema 1 manifests are not supported",
      detail: { reason: "schema 1 is deprecated; push the image again as schema 2 or OCI" },
    });
  }
  if (declared !== undefined) {
    if (!isManifestMediaType(declared)) throw invalid("unsupported manifest mediaType");
    if (isManifestMediaType(header) && header !== declared) {
      throw invalid("the Content-Type does not match the manifest's mediaType");
    }
    return declared;
  }
  if (isManifestMediaType(header)) return header;
  if (Array.isArray(json.manifests)) return OCI_INDEX;
  if (typeof json.config === "object") return OCI_MANIFEST;
  throw invalid("cannot tell the kind of manifest: no mediaType, config or manifests");
}

function check<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.join(".") || "(root)";
  throw invalid(`${path}: ${issue?.message ?? "invalid"}`);
}

/**
 * Parses manifest bytes and tells which kind they are. Throws a RegistryError with code
 * MANIFEST_INVALID when the bytes are not a manifest of a supported kind (schema 1 included).
 */
export function parseManifest(bytes: Uint8Array | string, contentType?: string): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    json = decodeJsonObject(bytes);
  } catch (error) {
    if (error instanceof TypeError) throw invalid("the manifest is not UTF-8");
    throw error;
  }
  const mediaType = detectMediaType(json, contentType);
  switch (mediaType) {
    case OCI_MANIFEST:
      return { kind: "oci-manifest", mediaType, manifest: check(ociManifestSchema, json) };
    case OCI_INDEX:
      return { kind: "oci-index", mediaType, manifest: check(ociIndexSchema, json) };
    case DOCKER_MANIFEST:
      return { kind: "docker-manifest", mediaType, manifest: check(dockerManifestSchema, json) };
    case DOCKER_MANIFEST_LIST:
      return {
        kind: "docker-manifest-list",
        mediaType,
        manifest: check(dockerManifestListSchema, json),
      };
  }
}

export function isIndexManifest(
  parsed: ParsedManifest,
): parsed is Extract<ParsedManifest, { kind: "oci-index" | "docker-manifest-list" }> {
  return parsed.kind === "oci-index" || parsed.kind === "docker-manifest-list";
}

/** The blobs (config and layers) an image manifest points at; none for an index. */
export function blobDescriptorsOf(parsed: ParsedManifest): Descriptor[] {
  if (isIndexManifest(parsed)) return [];
  return [parsed.manifest.config, ...parsed.manifest.layers];
}

/** The manifests an index points at; none for an image manifest. */
export function childManifestsOf(parsed: ParsedManifest): Descriptor[] {
  return isIndexManifest(parsed) ? parsed.manifest.manifests : [];
}

/** The `subject` of an OCI manifest or index (the referrers API), if any. */
export function subjectOf(parsed: ParsedManifest): Descriptor | undefined {
  if (parsed.kind === "oci-manifest" || parsed.kind === "oci-index") return parsed.manifest.subject;
  return undefined;
}

/** `artifactType`, else the config's media type for an image manifest (the referrers rule). */
export function artifactTypeOf(parsed: ParsedManifest): string | undefined {
  if (parsed.kind === "oci-manifest") {
    return parsed.manifest.artifactType ?? parsed.manifest.config.mediaType;
  }
  if (parsed.kind === "oci-index") return parsed.manifest.artifactType;
  return undefined;
}
