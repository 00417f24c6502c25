/**
 * `/v2/<name>/manifests/<reference>`: GET, HEAD, PUT, DELETE by tag or digest.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-manifests
 */
import { computeDigest, isDigest, parseDigest } from "@regmirror/core";
import { RegistryError } from "../model/errors.js";
import type { Descriptor } from "../model/manifest.js";
import { API_VERSION, isManifestMediaType, mediaTypeOf } from "../model/media-types.js";
import { isValidTag } from "../model/reference.js";
import { readBody, sendEmpty } from "./http-exchange.js";
import {
  methodNotAllowed,
  type RegistryExchange,
  requireDigest,
  requireWritable,
} from "./registry-exchange.js";
import type { ManifestWrite, StoredManifest } from "./registry-storage.js";

type ManifestReference = { kind: "digest"; digest: string } | { kind: "tag"; tag: string };

function parseManifestReference(reference: string): ManifestReference {
  if (reference.includes(":")) {
    return { kind: "digest", digest: requireDigest(reference, "the manifest reference") };
  }
  if (!isValidTag(reference)) {
    throw new RegistryError("MANIFEST_INVALID", {
      message: "invalid tag",
      detail: {
        reason: "a tag is up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
      },
    });
  }
  return { kind: "tag", tag: reference };
}

const headerSafeMediaType = /^[A-Za-z0-9][\w.+-]*\/[\w.+-]+$/;

/**
 * The media types of Accept headers seen lately: a client sends the same header with every
 * request, and splitting it each time showed in the profile of manifest GETs (ADR 0035).
 * Bounded: emptied when full.
 */
const acceptedTypesByHeader = new Map<string, readonly (string | undefined)[]>();
const acceptedTypesKept = 64;

function acceptedTypesOf(acceptHeader: string): readonly (string | undefined)[] {
  let accepted = acceptedTypesByHeader.get(acceptHeader);
  if (accepted === undefined) {
    accepted = acceptHeader.split(",").map((entry) => mediaTypeOf(entry));
    if (acceptedTypesByHeader.size >= acceptedTypesKept) acceptedTypesByHeader.clear();
    acceptedTypesByHeader.set(acceptHeader, accepted);
  }
  return accepted;
}

/** True unless the client listed manifest types and none of them is this one. */
function isAcceptable(acceptHeader: string | undefined, mediaType: string): boolean {
  if (!acceptHeader) return true;
  const accepted = acceptedTypesOf(acceptHeader);
  // Loops rather than some() with a closure over mediaType: this runs for every manifest GET.
  for (const type of accepted) {
    if (type === "*/*" || type === "application/*" || type === mediaType) return true;
  }
  for (const type of accepted) if (isManifestMediaType(type)) return false;
  return true;
}

// Not async: what it does at once (the reference check, the method) throws to the handler directly.
export function handleManifest(
  exchange: RegistryExchange,
  repository: string,
  rawReference: string,
): Promise<void> {
  const { request, storage } = exchange;
  const reference = parseManifestReference(rawReference);
  switch (request.method) {
    case "GET":
    case "HEAD":
      return getManifest(exchange, repository, reference);
    case "PUT":
      return putManifest(exchange, repository, reference);
    case "DELETE":
      return deleteManifest(exchange, repository, reference, storage);
    default:
      throw methodNotAllowed(["GET", "HEAD", "PUT", "DELETE"]);
  }
}

async function getManifest(
  exchange: RegistryExchange,
  repository: string,
  reference: ManifestReference,
) {
  const { request, response, storage, context } = exchange;
  const key = reference.kind === "digest" ? reference.digest : reference.tag;
  const manifest: StoredManifest | undefined = await storage.getManifest(repository, key, context);
  if (manifest === undefined) throw new RegistryError("MANIFEST_UNKNOWN");
  const headers = answerHeadersOf(manifest);
  const mediaType = headers["Content-Type"];
  if (!isAcceptable(request.headers.accept, mediaType)) {
    throw new RegistryError("MANIFEST_UNKNOWN", {
      message: "the manifest exists only in a media type the Accept header does not list",
      detail: { mediaType },
    });
  }
  response.writeHead(200, headers);
  response.end(request.method === "HEAD" ? undefined : manifest.bytes);
}

// A type, not an interface: node:http takes it as OutgoingHttpHeaders.
type ManifestAnswerHeaders = {
  readonly "Docker-Distribution-API-Version": string;
  readonly "Content-Type": string;
  readonly "Content-Length": number;
  readonly "Docker-Content-Digest": string;
  readonly ETag: string;
};

/**
 * The headers of a manifest's 200 answer, made once per stored manifest object: a storage that
 * keeps its manifests in memory hands out the same object each time, and checking the digest,
 * the media type and building the header object per request showed in the profile (ADR 0035).
 * Frozen: shared by every answer of that manifest.
 */
const answerHeaders = new WeakMap<StoredManifest, ManifestAnswerHeaders>();

function answerHeadersOf(manifest: StoredManifest): ManifestAnswerHeaders {
  let headers = answerHeaders.get(manifest);
  if (headers === undefined) {
    if (!isDigest(manifest.digest))
      throw new Error("the storage returned a manifest without a valid digest");
    headers = Object.freeze({
      "Docker-Distribution-API-Version": API_VERSION,
      "Content-Type": headerSafeMediaType.test(manifest.mediaType)
        ? manifest.mediaType
        : "application/octet-stream",
      "Content-Length": manifest.bytes.byteLength,
      "Docker-Content-Digest": manifest.digest,
      ETag: `"${manifest.digest}"`,
    });
    answerHeaders.set(manifest, headers);
  }
  return headers;
}

async function putManifest(
  exchange: RegistryExchange,
  repository: string,
  reference: ManifestReference,
) {
  const { request, response, storage, limits, context } = exchange;
  const put = requireWritable(storage, "putManifest");
  const bytes = await readBody(request, limits.maxManifestBytes);
  // The manifest schemas (zod) load with the first PUT: a server that only serves stored
  // manifests never loads them (a cache worker's memory, docs/adr/0040-memory-per-worker.md).
  const { artifactTypeOf, blobDescriptorsOf, childManifestsOf, parseManifest, subjectOf } =
    await import("../model/manifest.js");
  const parsed = parseManifest(bytes, request.headers["content-type"]);

  let digest = computeDigest(bytes);
  if (reference.kind === "digest") {
    digest = computeDigest(bytes, parseDigest(reference.digest).algorithm);
    if (digest !== reference.digest) {
      throw new RegistryError("DIGEST_INVALID", {
        message: "the manifest's digest does not match the digest in the path",
        detail: { computed: digest },
      });
    }
  }

  // Everything the manifest points at must be in this repository first (except foreign layers).
  for (const descriptor of blobDescriptorsOf(parsed)) {
    if (descriptor.urls !== undefined && descriptor.urls.length > 0) continue;
    if ((await storage.statBlob(repository, descriptor.digest, context)) === undefined) {
      throw new RegistryError("MANIFEST_BLOB_UNKNOWN", { detail: { digest: descriptor.digest } });
    }
  }
  for (const child of childManifestsOf(parsed)) {
    if ((await storage.getManifest(repository, child.digest, context)) === undefined) {
      throw new RegistryError("MANIFEST_BLOB_UNKNOWN", { detail: { digest: child.digest } });
    }
  }

  const write: ManifestWrite = { digest, mediaType: parsed.mediaType, bytes };
  if (reference.kind === "tag") write.tag = reference.tag;
  const subject = subjectOf(parsed);
  if (subject !== undefined) {
    const descriptor: Descriptor = { mediaType: parsed.mediaType, digest, size: bytes.byteLength };
    const artifactType = artifactTypeOf(parsed);
    if (artifactType !== undefined) descriptor.artifactType = artifactType;
    const annotations =
      parsed.kind === "oci-manifest" || parsed.kind === "oci-index"
        ? parsed.manifest.annotations
        : undefined;
    if (annotations !== undefined) descriptor.annotations = annotations;
    write.referrer = { subject: subject.digest, descriptor };
  }
  await put(repository, write, context);

  const headers: Record<string, string> = {
    Location: `/v2/${repository}/manifests/${digest}`,
    "Docker-Content-Digest": digest,
  };
  if (subject !== undefined) headers["OCI-Subject"] = subject.digest;
  sendEmpty(response, 201, headers);
}

async function deleteManifest(
  exchange: RegistryExchange,
  repository: string,
  reference: ManifestReference,
  storage: RegistryExchange["storage"],
) {
  const { response, context } = exchange;
  const deleted =
    reference.kind === "digest"
      ? await requireWritable(storage, "deleteManifest")(repository, reference.digest, context)
      : await requireWritable(storage, "deleteTag")(repository, reference.tag, context);
  if (!deleted) throw new RegistryError("MANIFEST_UNKNOWN");
  sendEmpty(response, 202);
}
