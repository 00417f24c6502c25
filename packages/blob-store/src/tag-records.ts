import type { MetadataStore } from "./blob-store.js";

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
const tagKey = (registry: string, repository: string, tag: string) =>
  `tags/${registry}/${repository}/_/${tag}`;

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
    put: (registry, repository, tag, record) =>
      metadata.put(tagKey(registry, repository, tag), JSON.stringify(record)),
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
