// Tag records: what a tag last resolved to upstream, and when, in the store's metadata.
import { parseDigest } from "@regmirror/core";
import type { MetadataStore } from "./blob-store.js";
import { InvalidMetadataKeyError, InvalidOptionsError } from "./errors.js";

/** What the cache last resolved a tag to upstream, and when. */
export interface TagRecord {
  digest: string;
  /** Milliseconds since the epoch. */
  fetchedAt: number;
  mediaType?: string;
}

export interface TagRecords {
  get(registry: string, repository: string, tag: string): Promise<TagRecord | undefined>;
  put(registry: string, repository: string, tag: string, record: TagRecord): Promise<void>;
  delete(registry: string, repository: string, tag: string): Promise<boolean>;
  /** Tags of one repository. */
  list(registry: string, repository: string): AsyncIterable<string>;
}

// Repository path components never start with "_", so "/_/" cleanly ends the repository name
// ("a/b" tag "c" and "a" with a sub-repository never collide).
function tagKey(registry: string, repository: string, tag: string): string {
  const key = `tags/${registry}/${repository}/_/${tag}`;
  const problem =
    typeof registry !== "string" || registry === "" || registry.includes("/")
      ? "the registry is a non-empty string without '/'"
      : typeof repository !== "string" || repository.split("/").some((part) => /^_|^$/.test(part))
        ? "repository path components are non-empty and do not start with '_'"
        : typeof tag !== "string" || tag.includes("/")
          ? "a tag is a string without '/'"
          : undefined;
  if (problem !== undefined) throw new InvalidMetadataKeyError(String(key), problem);
  return key;
}

/** A record that would read back as garbage is refused before it is stored. */
function checkRecord(record: TagRecord): void {
  if (typeof record !== "object" || record === null) {
    throw new InvalidOptionsError(`a tag record is { digest, fetchedAt }, got ${String(record)}`);
  }
  parseDigest(record.digest);
  if (!Number.isFinite(record.fetchedAt)) {
    throw new InvalidOptionsError(
      `a tag record's fetchedAt is a time in ms, got ${String(record.fetchedAt)}`,
    );
  }
}

/** Tag → digest records on top of a blob store's metadata. */
export function createTagRecords(metadata: MetadataStore): TagRecords {
  return {
    async get(registry, repository, tag) {
      const value = await metadata.get(tagKey(registry, repository, tag));
      if (value === undefined) return undefined;
      try {
        const record = JSON.parse(value) as TagRecord;
        return typeof record.digest === "string" && typeof record.fetchedAt === "number"
          ? record
          : undefined;
      } catch {
        return undefined;
      }
    },
    async put(registry, repository, tag, record) {
      const key = tagKey(registry, repository, tag);
      checkRecord(record);
      await metadata.put(key, JSON.stringify(record));
    },
    delete: (registry, repository, tag) => metadata.delete(tagKey(registry, repository, tag)),
    async *list(registry, repository) {
      const prefix = tagKey(registry, repository, "");
      for await (const key of metadata.list(prefix)) {
        const tag = key.slice(prefix.length);
        if (!tag.includes("/")) yield tag;
      }
    },
  };
}
