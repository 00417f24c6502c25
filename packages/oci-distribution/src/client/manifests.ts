/**
 * Manifest requests (distribution spec "Pulling manifests", "Pushing manifests"): HEAD and GET
 * by tag or digest with every manifest type in Accept, bytes kept exactly as received (the
 * digest is over those bytes), and PUT.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
 */

import {
  computeDigest,
  type DigestAlgorithm,
  DigestMismatchError,
  isDigest,
  parseDigest,
} from "@regmirror/core";
import { RegistryError } from "../model/errors.js";
import {
  ALL_MANIFEST_MEDIA_TYPES,
  declaredMediaType,
  HEADER_CONTENT_DIGEST,
  HEADER_OCI_SUBJECT,
  mediaTypeOf,
} from "../model/media-types.js";
import { RegistryClientError } from "./client-errors.js";
import { headerValue } from "./http-transport.js";
import { repositoryScope } from "./registry-auth.js";
import type { RegistrySession } from "./registry-session.js";
import { BodyTooLargeError, readBodyBytes } from "./response-body.js";

/** What identifies a manifest without its bytes. */
export interface ManifestDescriptor {
  digest: string;
  mediaType: string;
  size: number;
}

/** A manifest exactly as the registry sent it. */
export interface FetchedManifest extends ManifestDescriptor {
  bytes: Buffer;
}

export interface ManifestRequestOptions {
  signal?: AbortSignal;
  /** Media types to accept; default every manifest type this package reads. */
  accept?: readonly string[];
}

export interface PutManifestResult {
  digest: string;
  /** The registry's `OCI-Subject` header: it indexed the manifest's subject for the referrers API. */
  subjectDigest?: string;
}

export function manifestPath(repository: string, reference: string): string {
  return `/v2/${repository}/manifests/${encodeURIComponent(reference).replaceAll("%3A", ":")}`;
}

function acceptHeader(accept: readonly string[] | undefined): string {
  return (accept ?? ALL_MANIFEST_MEDIA_TYPES).join(", ");
}

function algorithmOf(digest: string): DigestAlgorithm {
  return parseDigest(digest).algorithm;
}

export function createManifestOperations(session: RegistrySession, maximumManifestBytes: number) {
  async function getManifest(
    repository: string,
    reference: string,
    options: ManifestRequestOptions = {},
  ): Promise<FetchedManifest> {
    const response = await session.expect(
      {
        target: manifestPath(repository, reference),
        method: "GET",
        headers: { accept: acceptHeader(options.accept) },
        scopes: [repositoryScope(repository, ["pull"])],
        signal: options.signal,
      },
      [200],
      "MANIFEST_UNKNOWN",
    );
    const tooLarge = () =>
      new RegistryClientError(
        "MANIFEST_TOO_LARGE",
        `manifest ${repository}:${reference} is larger than ${maximumManifestBytes} bytes`,
      );
    // A declared length over the limit is refused before one byte of the body is read.
    if (Number(headerValue(response.headers, "content-length")) > maximumManifestBytes) {
      response.body.destroy();
      throw tooLarge();
    }
    let bytes: Buffer;
    try {
      bytes = await readBodyBytes(response, maximumManifestBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw tooLarge();
      throw error;
    }
    const headerDigest = headerValue(response.headers, HEADER_CONTENT_DIGEST);
    // By digest, the reference is what the bytes must hash to; by tag, the registry's header.
    const expected = isDigest(reference)
      ? reference
      : isDigest(headerDigest)
        ? headerDigest
        : undefined;
    const digest = computeDigest(bytes, expected ? algorithmOf(expected) : "sha256");
    if (expected !== undefined && digest !== expected)
      throw new DigestMismatchError(expected, digest);
    const mediaType =
      mediaTypeOf(headerValue(response.headers, "content-type")) ?? declaredMediaType(bytes);
    if (mediaType === undefined) {
      throw new RegistryClientError(
        "INVALID_RESPONSE",
        `manifest ${repository}:${reference} came without a media type`,
      );
    }
    return { bytes, digest, mediaType, size: bytes.byteLength };
  }

  async function headManifest(
    repository: string,
    reference: string,
    options: ManifestRequestOptions = {},
  ): Promise<ManifestDescriptor> {
    const response = await session.expect(
      {
        target: manifestPath(repository, reference),
        method: "HEAD",
        headers: { accept: acceptHeader(options.accept) },
        scopes: [repositoryScope(repository, ["pull"])],
        signal: options.signal,
      },
      [200],
      "MANIFEST_UNKNOWN",
    );
    await response.body.dump();
    const digest = headerValue(response.headers, HEADER_CONTENT_DIGEST);
    const mediaType = mediaTypeOf(headerValue(response.headers, "content-type"));
    const size = Number(headerValue(response.headers, "content-length"));
    if (isDigest(reference) && digest !== undefined && digest !== reference) {
      throw new DigestMismatchError(reference, digest);
    }
    if (!isDigest(digest) || mediaType === undefined || !Number.isSafeInteger(size)) {
      // A registry that leaves out a header: the GET tells everything.
      const { bytes: _bytes, ...descriptor } = await getManifest(repository, reference, options);
      return descriptor;
    }
    return { digest, mediaType, size };
  }

  async function putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    options: { mediaType?: string; signal?: AbortSignal } = {},
  ): Promise<PutManifestResult> {
    const mediaType = options.mediaType ?? declaredMediaType(bytes);
    if (mediaType === undefined) {
      throw new RegistryError("MANIFEST_INVALID", {
        message: "the manifest has no mediaType field: pass options.mediaType",
      });
    }
    if (bytes.byteLength > maximumManifestBytes) {
      throw new RegistryClientError(
        "MANIFEST_TOO_LARGE",
        `manifest for ${repository}:${reference} is larger than ${maximumManifestBytes} bytes`,
      );
    }
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const response = await session.expect(
      {
        target: manifestPath(repository, reference),
        method: "PUT",
        headers: { "content-type": mediaType },
        body,
        scopes: [repositoryScope(repository, ["pull", "push"])],
        signal: options.signal,
        // Same bytes to the same name: sending it again cannot do harm.
        retryable: true,
      },
      [200, 201, 202, 204],
      "NAME_UNKNOWN",
    );
    await response.body.dump();
    const expected = isDigest(reference) ? reference : undefined;
    const digest = computeDigest(bytes, expected ? algorithmOf(expected) : "sha256");
    const subjectDigest = headerValue(response.headers, HEADER_OCI_SUBJECT);
    return subjectDigest === undefined ? { digest } : { digest, subjectDigest };
  }

  async function deleteManifest(
    repository: string,
    digest: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    parseDigest(digest);
    const response = await session.expect(
      {
        target: manifestPath(repository, digest),
        method: "DELETE",
        scopes: [repositoryScope(repository, ["delete"])],
        signal: options.signal,
        retryable: true,
      },
      [200, 202, 204],
      "MANIFEST_UNKNOWN",
    );
    await response.body.dump();
  }

  return { getManifest, headManifest, putManifest, deleteManifest };
}
