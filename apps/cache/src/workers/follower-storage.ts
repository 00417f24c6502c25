/**
 * What a worker other than the first serves itself (docs/adr/0036-worker-processes.md): blobs,
 * and manifests by digest, that the store holds, read from the store's files; small blobs and
 * manifests kept in memory as the first worker keeps them. Everything else (tags, listings,
 * content not yet stored) is the first worker's: `holds` says which requests stay here.
 */
import type { FilesystemStoreReader, MetadataStore } from "@regmirror/blob-store";
import { type ByteRange, isDigest, type OpenedBlob } from "@regmirror/core";
import {
  declaredMediaType,
  OCI_MANIFEST,
  RegistryError,
  type RegistryRoute,
  type RegistryStorage,
  type StoredManifest,
} from "@regmirror/oci-distribution";
import { createCacheRecords } from "../pull-through/cache-records.js";
import {
  bufferedBlob,
  ContentMemory,
  countingReads,
  type RememberedContent,
  readWhole,
  smallBlobMaxBytes,
} from "../pull-through/content-memory.js";
import type { PullThroughMetrics } from "../pull-through/pull-through-metrics.js";
import type { RegistryRouter, RoutableUpstream } from "../pull-through/registry-router.js";

export interface FollowerStorage extends RegistryStorage {
  readonly readOnly: true;
  readonly router: RegistryRouter<RoutableUpstream>;
  /** True when the store holds what this route asks for and it is served here. */
  holds(route: RegistryRoute): Promise<boolean>;
  /** The store removed `digest`: copies in memory go too. */
  forget(digest: string): void;
  /** The digests served since the last call; their last access is the first worker's to keep. */
  takeServed(): string[];
}

const memoryBytes = { smallBlobs: 16 * 1024 * 1024, manifests: 8 * 1024 * 1024 };
const maxManifestBytes = 4 * 1024 * 1024;

/** The digest a route names, when it is a blob or a manifest by digest. */
function digestOf(route: RegistryRoute): string | undefined {
  const raw =
    route.endpoint === "blob"
      ? route.digest
      : route.endpoint === "manifest"
        ? route.reference
        : undefined;
  if (raw === undefined) return undefined;
  let digest = raw;
  try {
    digest = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return isDigest(digest) ? digest : undefined;
}

function readOnlyMetadata(reader: FilesystemStoreReader): MetadataStore {
  const refuse = async () => {
    throw new Error("a worker other than the first writes no records");
  };
  return { get: reader.metadata.get, list: reader.metadata.list, put: refuse, delete: refuse };
}

export function createFollowerStorage(options: {
  reader: FilesystemStoreReader;
  router: RegistryRouter<RoutableUpstream>;
  /**
   * Told of each hit served here (metrics, and X-Cache and the access log through them) and of
   * the bytes it sends from the store, as the first worker counts them.
   */
  metrics: Pick<PullThroughMetrics, "cacheHit" | "bytesServedFromCache">;
}): FollowerStorage {
  const { reader, router, metrics } = options;
  const records = createCacheRecords(readOnlyMetadata(reader));
  const smallBlobs = new ContentMemory<RememberedContent>(memoryBytes.smallBlobs);
  const manifests = new ContentMemory<StoredManifest>(memoryBytes.manifests);
  let served = new Set<string>();

  async function manifestOf(digest: string): Promise<StoredManifest | undefined> {
    const remembered = manifests.get(digest);
    if (remembered !== undefined) return remembered;
    const stored = await reader.open(digest);
    if (stored === undefined) return undefined;
    if (stored.size > maxManifestBytes) {
      await stored.reader.close();
      throw new RegistryError("MANIFEST_INVALID", {
        message: "a stored manifest is larger than allowed",
      });
    }
    const bytes = await readWhole(stored);
    const mediaType =
      (await records.getManifestMediaType(digest)) ?? declaredMediaType(bytes) ?? OCI_MANIFEST;
    const manifest = { digest, mediaType, bytes };
    manifests.remember(manifest);
    return manifest;
  }

  return {
    readOnly: true,
    router,

    async holds(route) {
      const digest = digestOf(route);
      if (digest === undefined) return false;
      if (smallBlobs.get(digest) !== undefined || manifests.get(digest) !== undefined) return true;
      return (await reader.stat(digest)) !== undefined;
    },

    forget(digest) {
      smallBlobs.forget(digest);
      manifests.forget(digest);
    },

    takeServed() {
      const digests = [...served];
      served = new Set();
      return digests;
    },

    async statBlob(repositoryPath, digest) {
      router.route(repositoryPath);
      const remembered = smallBlobs.get(digest);
      const stat =
        remembered === undefined
          ? await reader.stat(digest)
          : { digest, size: remembered.bytes.byteLength };
      if (stat !== undefined) {
        served.add(digest);
        metrics.cacheHit("blob");
      }
      return stat;
    },

    async openBlob(repositoryPath, digest, range: ByteRange | undefined) {
      router.route(repositoryPath);
      const remembered = range === undefined ? smallBlobs.get(digest) : undefined;
      let opened: OpenedBlob | undefined;
      if (remembered !== undefined) {
        opened = bufferedBlob(remembered);
        metrics.bytesServedFromCache(remembered.bytes.byteLength);
      } else {
        opened = await reader.open(digest, range);
        if (opened === undefined) return undefined;
        if (range === undefined && opened.size > 0 && opened.size <= smallBlobMaxBytes) {
          const content = { digest, bytes: await readWhole(opened) };
          smallBlobs.remember(content);
          opened = bufferedBlob(content);
          metrics.bytesServedFromCache(content.bytes.byteLength);
        } else {
          opened = countingReads(opened, (bytes) => metrics.bytesServedFromCache(bytes));
        }
      }
      served.add(digest);
      metrics.cacheHit("blob");
      return opened;
    },

    async getManifest(repositoryPath, reference) {
      router.route(repositoryPath);
      // Tags are resolved by the first worker (`holds` sends them there).
      if (!isDigest(reference)) return undefined;
      const manifest = await manifestOf(reference);
      if (manifest !== undefined) {
        served.add(reference);
        metrics.cacheHit("manifest");
      }
      return manifest;
    },

    // Never asked: `holds` sends tag listings to the first worker.
    listTags: async () => undefined,
  };
}
