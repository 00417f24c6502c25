/**
 * The small records the cache keeps next to the content, in the blob store's metadata:
 * - `tags/<upstream>/<repo>/_/<tag>`: what a tag last resolved to upstream (blob-store's TagRecords)
 * - `manifest-types/<algorithm>/<hex>`: the media type a manifest was served with
 * - `repositories/<upstream>/<repo>/_`: a repository the cache has fetched manifests of (catalog)
 * - `tag-lists/<upstream>/<repo>/_`: the last tag list upstream answered (served when it fails)
 * - `referrers/<upstream>/<repo>/_/<algorithm>/<hex>`: the last referrers answer for a subject
 * Repository path components never are `_`, so `/_` cleanly ends a repository name.
 * A record whose key the store cannot hold (a name too long for an S3 key once encoded) reads
 * as absent: the cache then asks upstream, as it does for anything it has not seen.
 */
import {
  BlobStoreError,
  createTagRecords,
  type MetadataStore,
  type TagRecord,
} from "@regmirror/blob-store";
// parseDigest from core itself: through oci-distribution's model it would load the manifest
// schemas (zod) in every worker (docs/adr/0040-memory-per-worker.md).
import { parseDigest } from "@regmirror/core";
import type { Descriptor } from "@regmirror/oci-distribution";

export interface CachedRepository {
  upstream: string;
  repository: string;
}

/** What upstream last answered to the referrers API: the list, or that it has no such API. */
export type ReferrersRecord = { api: true; manifests: Descriptor[] } | { api: false };

export interface CacheRecords {
  getTag(upstream: string, repository: string, tag: string): Promise<TagRecord | undefined>;
  putTag(upstream: string, repository: string, tag: string, record: TagRecord): Promise<void>;
  deleteTag(upstream: string, repository: string, tag: string): Promise<void>;
  /** Tags the cache has resolved in a repository. */
  tagsOf(upstream: string, repository: string): Promise<string[]>;
  getManifestMediaType(digest: string): Promise<string | undefined>;
  putManifestMediaType(digest: string, mediaType: string): Promise<void>;
  rememberRepository(upstream: string, repository: string): Promise<void>;
  repositories(): AsyncIterable<CachedRepository>;
  /** Drops a repository from the catalog with its tag list (its tags are deleted one by one). */
  forgetRepository(upstream: string, repository: string): Promise<void>;
  getTagList(upstream: string, repository: string): Promise<string[] | undefined>;
  putTagList(upstream: string, repository: string, tags: readonly string[]): Promise<void>;
  getReferrers(
    upstream: string,
    repository: string,
    subject: string,
  ): Promise<ReferrersRecord | undefined>;
  putReferrers(
    upstream: string,
    repository: string,
    subject: string,
    record: ReferrersRecord,
  ): Promise<void>;
}

/** Upstream names are plain (`docker-hub`); encoding keeps any name one key segment. */
const segment = (upstream: string) => encodeURIComponent(upstream);

function manifestTypeKey(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `manifest-types/${algorithm}/${encoded}`;
}

function parseReferrersRecord(value: string | undefined): ReferrersRecord | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as { api?: unknown; manifests?: unknown };
    if (parsed.api === false) return { api: false };
    if (parsed.api === true && Array.isArray(parsed.manifests)) {
      return { api: true, manifests: parsed.manifests as Descriptor[] };
    }
  } catch {
    // An unreadable record is as good as none.
  }
  return undefined;
}

function parseStringList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === "string")
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}

/** `read()`, or `absent` when the store refuses the record's key. */
async function unlessUnstorable<T>(read: () => Promise<T>, absent: T): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (BlobStoreError.isInstance(error) && error.code === "BLOB_STORE_INVALID_METADATA_KEY")
      return absent;
    throw error;
  }
}

export function createCacheRecords(metadata: MetadataStore): CacheRecords {
  const tags = createTagRecords(metadata);
  const repositoryKey = (upstream: string, repository: string) =>
    `repositories/${segment(upstream)}/${repository}/_`;
  const tagListKey = (upstream: string, repository: string) =>
    `tag-lists/${segment(upstream)}/${repository}/_`;
  const referrersKey = (upstream: string, repository: string, subject: string) => {
    const { algorithm, encoded } = parseDigest(subject);
    return `referrers/${segment(upstream)}/${repository}/_/${algorithm}/${encoded}`;
  };

  return {
    getTag: (upstream, repository, tag) =>
      unlessUnstorable(() => tags.get(segment(upstream), repository, tag), undefined),
    putTag: (upstream, repository, tag, record) =>
      tags.put(segment(upstream), repository, tag, record),
    deleteTag: async (upstream, repository, tag) => {
      await tags.delete(segment(upstream), repository, tag);
    },
    tagsOf: (upstream, repository) =>
      unlessUnstorable(async () => {
        const found: string[] = [];
        for await (const tag of tags.list(segment(upstream), repository)) found.push(tag);
        return found;
      }, []),
    getManifestMediaType: (digest) =>
      unlessUnstorable(() => metadata.get(manifestTypeKey(digest)), undefined),
    putManifestMediaType: (digest, mediaType) => metadata.put(manifestTypeKey(digest), mediaType),
    rememberRepository: (upstream, repository) =>
      metadata.put(repositoryKey(upstream, repository), "1"),
    async *repositories() {
      for await (const key of metadata.list("repositories/")) {
        const match = /^repositories\/([^/]+)\/(.+)\/_$/.exec(key);
        if (match?.[1] === undefined || match[2] === undefined) continue;
        yield { upstream: decodeURIComponent(match[1]), repository: match[2] };
      }
    },
    async forgetRepository(upstream, repository) {
      await metadata.delete(repositoryKey(upstream, repository));
      await metadata.delete(tagListKey(upstream, repository));
    },
    getTagList: (upstream, repository) =>
      unlessUnstorable(
        async () => parseStringList(await metadata.get(tagListKey(upstream, repository))),
        undefined,
      ),
    putTagList: (upstream, repository, list) =>
      metadata.put(tagListKey(upstream, repository), JSON.stringify(list)),
    getReferrers: (upstream, repository, subject) =>
      unlessUnstorable(
        async () =>
          parseReferrersRecord(await metadata.get(referrersKey(upstream, repository, subject))),
        undefined,
      ),
    putReferrers: (upstream, repository, subject, record) =>
      metadata.put(referrersKey(upstream, repository, subject), JSON.stringify(record)),
  };
}
