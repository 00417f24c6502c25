/**
 * A read-only view of a filesystem store that another process owns (the cache's first worker,
 * docs/adr/0036-worker-processes.md): committed blobs and metadata records, read straight from
 * their files. It takes no lock and writes nothing: committed blobs never change and records are
 * replaced atomically, so a reader sees either the old or the new file, never a partial one.
 */
import { type BlobStat, type ByteRange, type OpenedBlob, parseDigest } from "@regmirror/core";
import type { MetadataStore } from "../blob-store.js";
import { filesystemLayout, readBlobFile, statBlobFile } from "./filesystem-backend.js";
import { createFilesystemMetadata } from "./filesystem-metadata.js";

export interface FilesystemStoreReader {
  stat(digest: string): Promise<BlobStat | undefined>;
  /** The whole blob, or `range` of it; undefined when the store does not hold it. */
  open(digest: string, range?: ByteRange): Promise<OpenedBlob | undefined>;
  /** Reads only: `get` and `list`. */
  readonly metadata: Pick<MetadataStore, "get" | "list">;
}

export function openFilesystemStoreReader(rootDirectory: string): FilesystemStoreReader {
  const layout = filesystemLayout(rootDirectory);
  const metadata = createFilesystemMetadata(layout.metadata, layout.temporary);
  return {
    async stat(digest) {
      const size = await statBlobFile(layout, parseDigest(digest));
      return size === undefined ? undefined : { digest, size };
    },
    open: (digest, range) => readBlobFile(layout, parseDigest(digest), range),
    metadata: { get: (key) => metadata.get(key), list: (prefix) => metadata.list(prefix) },
  };
}
