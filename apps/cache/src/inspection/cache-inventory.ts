/**
 * What the cache holds, by repository and tag, and removing it by hand
 * (docs/adr/0029-admin-api-inspection-and-eviction.md). The store is content-addressed, so an
 * image is the closure of its tag's manifest: the manifest, every manifest of an index, and
 * their configs and layers. Removing an image evicts what no other cached tag uses; a blob that
 * is being read or downloaded is kept (the store's reference counts), and every eviction is
 * logged. Inspection reads manifests without counting as an access: `ls` does not keep content
 * alive.
 */
import { buffer } from "node:stream/consumers";
import type { BlobStore } from "@regmirror/blob-store";
import type { Logger } from "@regmirror/core";
import { blobDescriptorsOf, childManifestsOf, parseManifest } from "@regmirror/oci-distribution";
import type { CacheRecords, DownloadProgress } from "../pull-through/index.js";
import { parseEvictionTarget, type RoutedTarget, type TargetRouter } from "./eviction-target.js";

export interface InventoryImage {
  tag: string;
  digest: string;
  /** Bytes of the image's content in the store (manifests, configs, layers). */
  bytes: number;
  /** Blobs of the image in the store, and those it names that the store lacks. */
  blobs: number;
  missingBlobs: number;
  /** Last use of any of its content (clock time, ms); undefined when none of it is stored. */
  lastAccessAt: number | undefined;
}

export interface InventoryRepository {
  /** How a client names it: `docker.io/library/alpine`. */
  name: string;
  upstream: string;
  /** The repository at the upstream: `library/alpine`. */
  repository: string;
  images: InventoryImage[];
  /** Bytes of the repository's distinct content (a layer two tags share counts once). */
  bytes: number;
  lastAccessAt: number | undefined;
}

export interface InventoryListing {
  repositories: InventoryRepository[];
}

export interface InventoryUsage {
  store: { bytes: number; blobs: number };
  /** Content no tag the cache knows reaches (pulled by digest only, or left by a moved tag). */
  untagged: { bytes: number; blobs: number };
  byUpstream: { upstream: string; bytes: number; blobs: number }[];
  repositories: { name: string; bytes: number; tags: number }[];
}

export interface EvictionReport {
  target: string;
  evicted: { digest: string; size: number }[];
  /** Left in place: being read (`in-use`), being downloaded, or used by another cached tag. */
  kept: { digest: string; reason: "in-use" | "downloading" | "shared" }[];
  /** Tag records removed. */
  tags: string[];
  bytesFreed: number;
}

export interface CacheInventory {
  list(): Promise<InventoryListing>;
  usage(): Promise<InventoryUsage>;
  /** Removes an image (`repo:tag`, `repo@digest`), a repository (`repo`) or one digest. */
  evict(target: string, requestedBy: string): Promise<EvictionReport>;
}

export interface CacheInventoryDeps {
  blobStore: BlobStore;
  records: CacheRecords;
  router: TargetRouter;
  /** The downloads under way (their blobs are not in the store yet). */
  downloads(): DownloadProgress[];
  logger: Logger;
}

interface TaggedImage {
  upstream: string;
  repository: string;
  tag: string;
  digest: string;
}

/** Largest manifest read for an inspection (as the resolver's limit). */
const maxManifestBytes = 4 * 1024 * 1024;

export function createCacheInventory(deps: CacheInventoryDeps): CacheInventory {
  const { blobStore, records, router, logger } = deps;

  /** The manifest's children and blobs, read without counting as an access; [] when not stored. */
  async function referencesOf(digest: string): Promise<string[]> {
    const stored = await blobStore.get(digest, undefined, { countAsAccess: false });
    if (stored === undefined) return [];
    if (stored.size > maxManifestBytes) {
      stored.body.destroy();
      return [];
    }
    const bytes = await buffer(stored.body);
    const mediaType = await records.getManifestMediaType(digest);
    try {
      const parsed = parseManifest(bytes, mediaType);
      return [
        ...childManifestsOf(parsed).map((child) => child.digest),
        ...blobDescriptorsOf(parsed).map((blob) => blob.digest),
      ];
    } catch {
      return []; // a blob, not a manifest (an rm by digest of a layer)
    }
  }

  /** Every digest an image is made of, starting from its manifest. */
  async function closureOf(digest: string): Promise<Set<string>> {
    const seen = new Set<string>([digest]);
    const queue = [digest];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      for (const child of await referencesOf(next)) {
        if (!seen.has(child)) {
          seen.add(child);
          queue.push(child);
        }
      }
    }
    return seen;
  }

  async function taggedImages(): Promise<TaggedImage[]> {
    const images: TaggedImage[] = [];
    for await (const { upstream, repository } of records.repositories()) {
      for (const tag of await records.tagsOf(upstream, repository)) {
        const record = await records.getTag(upstream, repository, tag);
        if (record !== undefined) images.push({ upstream, repository, tag, digest: record.digest });
      }
    }
    return images;
  }

  async function measure(digests: Iterable<string>) {
    let bytes = 0;
    let blobs = 0;
    let missing = 0;
    let lastAccessAt: number | undefined;
    for (const digest of digests) {
      const found = await blobStore.inspect(digest);
      if (found === undefined) {
        missing += 1;
        continue;
      }
      bytes += found.size;
      blobs += 1;
      lastAccessAt = Math.max(lastAccessAt ?? 0, found.lastAccessAt);
    }
    return { bytes, blobs, missing, lastAccessAt };
  }

  async function list(): Promise<InventoryListing> {
    const byName = new Map<string, InventoryRepository & { content: Set<string> }>();
    for (const image of await taggedImages()) {
      const name = router.displayName(image.upstream, image.repository);
      let entry = byName.get(name);
      if (entry === undefined) {
        entry = {
          name,
          upstream: image.upstream,
          repository: image.repository,
          images: [],
          bytes: 0,
          lastAccessAt: undefined,
          content: new Set(),
        };
        byName.set(name, entry);
      }
      const closure = await closureOf(image.digest);
      for (const digest of closure) entry.content.add(digest);
      const measured = await measure(closure);
      entry.images.push({
        tag: image.tag,
        digest: image.digest,
        bytes: measured.bytes,
        blobs: measured.blobs,
        missingBlobs: measured.missing,
        lastAccessAt: measured.lastAccessAt,
      });
    }
    const repositories: InventoryRepository[] = [];
    for (const { content, ...entry } of byName.values()) {
      const measured = await measure(content);
      entry.images.sort((left, right) => left.tag.localeCompare(right.tag));
      repositories.push({ ...entry, bytes: measured.bytes, lastAccessAt: measured.lastAccessAt });
    }
    repositories.sort((left, right) => left.name.localeCompare(right.name));
    return { repositories };
  }

  async function usage(): Promise<InventoryUsage> {
    const listing = await list();
    const tagged = new Set<string>();
    const perUpstream = new Map<string, Set<string>>();
    for (const image of await taggedImages()) {
      const closure = await closureOf(image.digest);
      const upstreamContent = perUpstream.get(image.upstream) ?? new Set<string>();
      for (const digest of closure) {
        tagged.add(digest);
        upstreamContent.add(digest);
      }
      perUpstream.set(image.upstream, upstreamContent);
    }
    const untagged = [];
    for await (const digest of blobStore.list()) if (!tagged.has(digest)) untagged.push(digest);
    const untaggedMeasure = await measure(untagged);
    const byUpstream = [];
    for (const [upstream, content] of perUpstream) {
      const measured = await measure(content);
      byUpstream.push({ upstream, bytes: measured.bytes, blobs: measured.blobs });
    }
    return {
      store: await blobStore.usage(),
      untagged: { bytes: untaggedMeasure.bytes, blobs: untaggedMeasure.blobs },
      byUpstream: byUpstream.sort((left, right) => right.bytes - left.bytes),
      repositories: listing.repositories
        .map((repository) => ({
          name: repository.name,
          bytes: repository.bytes,
          tags: repository.images.length,
        }))
        .sort((left, right) => right.bytes - left.bytes),
    };
  }

  /** The tagged images a target names, and the manifests whose content goes with them. */
  function selection(
    target: Extract<RoutedTarget, { kind: "repository-content" }>,
    images: readonly TaggedImage[],
  ) {
    const chosen = images.filter(
      (image) =>
        image.upstream === target.upstream &&
        image.repository === target.repository &&
        (target.tag === undefined || image.tag === target.tag) &&
        (target.digest === undefined || image.digest === target.digest),
    );
    const roots = new Set(chosen.map((image) => image.digest));
    if (target.digest !== undefined) roots.add(target.digest);
    return { chosen, roots };
  }

  async function evict(input: string, requestedBy: string): Promise<EvictionReport> {
    const target = parseEvictionTarget(input, router);
    const report: EvictionReport = {
      target: input,
      evicted: [],
      kept: [],
      tags: [],
      bytesFreed: 0,
    };
    const downloading = new Set(deps.downloads().map((download) => download.digest));
    let candidates: string[];
    let shared = new Set<string>();
    const images = await taggedImages();
    if (target.kind === "digest") {
      candidates = [target.digest];
    } else {
      const { chosen, roots } = selection(target, images);
      const content = new Set<string>();
      for (const root of roots) for (const digest of await closureOf(root)) content.add(digest);
      // Content another tag still uses stays: removing an image must not break another.
      const others = images.filter((image) => !chosen.includes(image));
      for (const other of others) {
        for (const digest of await closureOf(other.digest)) {
          if (content.has(digest)) shared.add(digest);
        }
      }
      candidates = [...content].filter((digest) => !shared.has(digest));
      for (const image of chosen) {
        await records.deleteTag(image.upstream, image.repository, image.tag);
        report.tags.push(`${router.displayName(image.upstream, image.repository)}:${image.tag}`);
      }
      if (target.tag === undefined && target.digest === undefined) {
        await records.forgetRepository(target.upstream, target.repository);
      }
    }
    for (const digest of candidates) {
      if (downloading.has(digest)) {
        report.kept.push({ digest, reason: "downloading" });
        continue;
      }
      const size = (await blobStore.inspect(digest))?.size ?? 0;
      const outcome = await blobStore.evict(digest);
      if (outcome === "evicted") {
        report.evicted.push({ digest, size });
        report.bytesFreed += size;
      } else if (outcome === "in-use") {
        report.kept.push({ digest, reason: "in-use" });
      }
    }
    shared = new Set([...shared].filter((digest) => !downloading.has(digest)));
    for (const digest of shared) report.kept.push({ digest, reason: "shared" });
    logger.info(
      {
        target: input,
        requestedBy,
        evicted: report.evicted.length,
        bytesFreed: report.bytesFreed,
        kept: report.kept.length,
        tags: report.tags,
      },
      "content removed on request",
    );
    return report;
  }

  return { list, usage, evict };
}
