/**
 * The referrers of a manifest (artifacts whose `subject` points at it): the referrers API, and
 * for registries without it (404) the fallback tag scheme — an OCI index tagged
 * `<algorithm>-<hex>` that pushers keep up to date.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#referrers-tag-schema
 */

import { parseDigest } from "@regmirror/core";
import { RegistryError } from "../model/errors.js";
import {
  artifactTypeOf,
  type Descriptor,
  ociIndexSchema,
  type ParsedManifest,
  subjectOf,
} from "../model/manifest.js";
import { HEADER_OCI_FILTERS_APPLIED, OCI_INDEX } from "../model/media-types.js";
import { RegistryClientError } from "./client-errors.js";
import { headerValue } from "./http-transport.js";
import { checkDigest, checkRepository } from "./input-checks.js";
import { nextLinkUrl } from "./link-header.js";
import type { FetchedManifest, PutManifestResult } from "./manifests.js";
import { redactUrl } from "./redact-url.js";
import { repositoryScope } from "./registry-auth.js";
import { type RegistrySession, toRegistryError } from "./registry-session.js";
import { readBodyBytes } from "./response-body.js";

export interface ListReferrersOptions {
  /** Only referrers of this artifact type. */
  artifactType?: string;
  /**
   * false: do not fall back to the referrers tag when the registry has no referrers API; the
   * call then rejects with the registry's 404 (a proxy passes that answer on). Default true.
   */
  tagSchemaFallback?: boolean;
  signal?: AbortSignal;
}

/** `sha256:abc...` → `sha256-abc...`, cut to the 128 characters a tag may have. */
export function referrersTagFor(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `${algorithm}-${encoded}`.slice(0, 128);
}

const MAXIMUM_INDEX_BYTES = 4 * 1024 * 1024;

interface ManifestAccess {
  getManifest(
    repository: string,
    reference: string,
    options: { signal?: AbortSignal; accept?: readonly string[] },
  ): Promise<FetchedManifest>;
  putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    options: { mediaType?: string; signal?: AbortSignal },
  ): Promise<PutManifestResult>;
}

function parseIndexManifests(bytes: Uint8Array, where: string): Descriptor[] {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new RegistryClientError("INVALID_RESPONSE", `${where}: the referrers index is not JSON`);
  }
  const result = ociIndexSchema.safeParse(json);
  if (!result.success) {
    throw new RegistryClientError(
      "INVALID_RESPONSE",
      `${where}: the referrers index is not an OCI index`,
    );
  }
  return result.data.manifests;
}

function referrersIndex(manifests: Descriptor[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

export function createReferrers(session: RegistrySession, manifests: ManifestAccess) {
  async function fromApi(
    repository: string,
    digest: string,
    options: ListReferrersOptions,
  ): Promise<Descriptor[] | undefined> {
    let url: URL | undefined = new URL(`/v2/${repository}/referrers/${digest}`, session.baseUrl);
    if (options.artifactType !== undefined)
      url.searchParams.set("artifactType", options.artifactType);
    const found: Descriptor[] = [];
    const seen = new Set<string>();
    while (url !== undefined) {
      seen.add(url.href);
      const response = await session.send({
        target: url,
        method: "GET",
        headers: { accept: OCI_INDEX },
        scopes: [repositoryScope(repository, ["pull"])],
        signal: options.signal,
      });
      if (response.status === 404 && found.length === 0) {
        if (options.tagSchemaFallback === false) {
          throw await toRegistryError(response, "GET", "NAME_UNKNOWN");
        }
        await response.body.dump();
        return undefined; // no referrers API here: use the tag scheme
      }
      if (response.status !== 200) {
        throw await toRegistryError(response, "GET", "MANIFEST_UNKNOWN");
      }
      const filtered = (headerValue(response.headers, HEADER_OCI_FILTERS_APPLIED) ?? "")
        .split(",")
        .map((value) => value.trim())
        .includes("artifactType");
      const page = parseIndexManifests(
        await readBodyBytes(response, MAXIMUM_INDEX_BYTES),
        `GET ${redactUrl(url)}`,
      );
      found.push(
        ...(filtered || options.artifactType === undefined
          ? page
          : page.filter((descriptor) => descriptor.artifactType === options.artifactType)),
      );
      const next = nextLinkUrl(response.headers.link, response.url);
      url =
        next && next.origin === session.baseUrl.origin && !seen.has(next.href) ? next : undefined;
    }
    return found;
  }

  async function fromTag(
    repository: string,
    digest: string,
    signal: AbortSignal | undefined,
  ): Promise<Descriptor[]> {
    try {
      const index = await manifests.getManifest(repository, referrersTagFor(digest), {
        accept: [OCI_INDEX],
        ...(signal ? { signal } : {}),
      });
      return parseIndexManifests(index.bytes, `referrers tag of ${digest}`);
    } catch (error) {
      if (RegistryError.isInstance(error) && error.status === 404) return [];
      throw error;
    }
  }

  return {
    /** Descriptors of the manifests whose subject is `digest`. */
    async listReferrers(
      repository: string,
      digest: string,
      options: ListReferrersOptions = {},
    ): Promise<Descriptor[]> {
      checkRepository(repository);
      checkDigest(digest);
      const viaApi = await fromApi(repository, digest, options);
      if (viaApi !== undefined) return viaApi;
      const viaTag = await fromTag(repository, digest, options.signal);
      return options.artifactType === undefined
        ? viaTag
        : viaTag.filter((descriptor) => descriptor.artifactType === options.artifactType);
    },

    /**
     * After pushing a manifest with a subject to a registry that did not index it (no
     * `OCI-Subject` answer), adds it to the subject's fallback tag index. Not atomic: two
     * pushers at once can lose an entry, as the spec warns.
     */
    async addToReferrersTag(
      repository: string,
      parsed: ParsedManifest,
      pushed: { digest: string; mediaType: string; size: number },
      signal: AbortSignal | undefined,
    ): Promise<void> {
      const subject = subjectOf(parsed);
      if (subject === undefined) return;
      const current = await fromTag(repository, subject.digest, signal);
      if (current.some((descriptor) => descriptor.digest === pushed.digest)) return;
      const descriptor: Descriptor = {
        mediaType: pushed.mediaType,
        digest: pushed.digest,
        size: pushed.size,
      };
      const artifactType = artifactTypeOf(parsed);
      if (artifactType !== undefined) descriptor.artifactType = artifactType;
      const annotations = (parsed.manifest as { annotations?: Record<string, string> }).annotations;
      if (annotations !== undefined) descriptor.annotations = annotations;
      await manifests.putManifest(
        repository,
        referrersTagFor(subject.digest),
        referrersIndex([...current, descriptor]),
        {
          mediaType: OCI_INDEX,
          ...(signal ? { signal } : {}),
        },
      );
    },
  };
}
