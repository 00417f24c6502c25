/**
 * Manifests through the cache. By digest: from the store with no upstream call, else fetched
 * once (single flight), verified against the digest and stored byte for byte. By tag: resolved
 * upstream with HEAD (every manifest Accept type) unless the tag was resolved within the
 * freshness window; a digest the store has is served from it, another is fetched by digest.
 * When upstream is unavailable (network, 5xx, 429, circuit open) a tag resolves to its last
 * known digest, and so it does when upstream has not answered within `staleAfterMs`: the
 * resolution goes on in the background and updates the record for the next client.
 */

import { Readable } from "node:stream";
import type { BlobStore, TagRecord } from "@regmirror/blob-store";
import { type Clock, describeError, type Logger } from "@regmirror/core";
import {
  declaredMediaType,
  OCI_MANIFEST,
  RegistryError,
  type StoredManifest,
} from "@regmirror/oci-distribution";
import type { PeerManifestFetcher } from "../peers/peer-manifest-fetcher.js";
import { runWithPeerMark } from "../peers/peer-request.js";
import type { CacheRecords } from "./cache-records.js";
import { ContentMemory } from "./content-memory.js";
import { firstWithin } from "./first-within.js";
import type { PullThroughMetrics } from "./pull-through-metrics.js";
import { createSingleFlight } from "./single-flight.js";
import type { UpstreamConnection } from "./upstream-connection.js";
import {
  classifyUpstreamError,
  isStorageFull,
  isUnavailable,
  toClientError,
} from "./upstream-errors.js";

const unchangedTagRecordIntervalMs = 60_000;
/** Manifests kept in memory: thousands of typical ones (a few KB each). */
const manifestMemoryBytes = 8 * 1024 * 1024;
export interface ManifestResolverDeps {
  blobStore: BlobStore;
  records: CacheRecords;
  logger: Logger;
  metrics: PullThroughMetrics;
  clock: Clock;
  /** How long a resolved tag is trusted without asking upstream; 0: always ask. */
  tagFreshnessMs: number;
  /** A tag the cache knows is answered from the cache when upstream is slower than this. */
  staleAfterMs: number;
  /** Largest manifest read from the store. */
  maxManifestBytes: number;
  /** Replicas sharing their lookups: manifests and tags another replica owns are asked there. */
  peers?: {
    fetcher: PeerManifestFetcher;
    /** The repository as a client names it (a peer routes it as this replica would). */
    clientPath(upstream: UpstreamConnection, repository: string): string;
  };
}

export interface ManifestResolver {
  byDigest(
    upstream: UpstreamConnection,
    repository: string,
    digest: string,
  ): Promise<StoredManifest | undefined>;
  byTag(
    upstream: UpstreamConnection,
    repository: string,
    tag: string,
  ): Promise<StoredManifest | undefined>;
}

async function readAll(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).byteLength;
    if (total > limit) {
      body.destroy();
      throw new RegistryError("MANIFEST_INVALID", {
        message: "a stored manifest is larger than allowed",
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

export function createManifestResolver(deps: ManifestResolverDeps): ManifestResolver {
  const { blobStore, records, logger, metrics, clock } = deps;
  const digestFlights = createSingleFlight<StoredManifest>();
  const tagFlights = createSingleFlight<StoredManifest | undefined>();
  const memory = new ContentMemory<StoredManifest>(manifestMemoryBytes);

  /** Record keeping never fails a pull: the content is served, the record is retried next time. */
  async function record(what: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      logger.warn({ record: what, error: describeError(error) }, "could not write a cache record");
    }
  }

  async function readStored(digest: string): Promise<StoredManifest | undefined> {
    const remembered = memory.get(digest);
    if (remembered !== undefined) {
      if (await blobStore.touch(digest)) return remembered;
      memory.forget(digest);
    }
    const stored = await blobStore.get(digest);
    if (stored === undefined) return undefined;
    const bytes = await readAll(stored.body, deps.maxManifestBytes);
    const mediaType =
      (await records.getManifestMediaType(digest)) ?? declaredMediaType(bytes) ?? OCI_MANIFEST;
    const manifest = { digest, mediaType, bytes };
    memory.remember(manifest);
    return manifest;
  }

  /**
   * Every repository a client pulled a manifest of is listed by _catalog, however the content
   * reached the store (through another repository name, or another upstream). Written once per
   * repository and process.
   */
  const rememberedRepositories = new Map<string, Set<string>>();
  /** Asked on every manifest hit: a lookup that builds no key (ADR 0035). */
  function isRemembered(upstream: UpstreamConnection, repository: string): boolean {
    return rememberedRepositories.get(upstream.name)?.has(repository) === true;
  }
  async function rememberRepository(upstream: UpstreamConnection, repository: string) {
    if (isRemembered(upstream, repository)) return;
    try {
      await records.rememberRepository(upstream.name, repository);
      let remembered = rememberedRepositories.get(upstream.name);
      if (remembered === undefined) {
        remembered = new Set();
        rememberedRepositories.set(upstream.name, remembered);
      }
      remembered.add(repository);
    } catch (error) {
      logger.warn(
        { record: "repository", error: describeError(error) },
        "could not write a cache record",
      );
    }
  }

  /** GET by digest (the client checks the bytes hash to it), then store byte for byte. */
  function fetchByDigest(
    upstream: UpstreamConnection,
    repository: string,
    digest: string,
    deadlineAt?: number,
  ) {
    return digestFlights.run(
      digest,
      async () => {
        metrics.cacheMiss("manifest");
        const fromPeer = await deps.peers?.fetcher.byDigest(
          deps.peers.clientPath(upstream, repository),
          digest,
        );
        const fetched =
          fromPeer === undefined
            ? await upstream.request(
                "get-manifest",
                (client, signal) => client.getManifest(repository, digest, { signal }),
                deadlineAt === undefined ? {} : { deadlineAt },
              )
            : { ...fromPeer, size: fromPeer.bytes.byteLength };
        if (fromPeer === undefined)
          metrics.bytesFromUpstream(upstream.name, fetched.bytes.byteLength);
        const manifest = { digest, mediaType: fetched.mediaType, bytes: fetched.bytes };
        try {
          await blobStore.put(digest, Readable.from([fetched.bytes]), {
            expectedSize: fetched.size,
          });
        } catch (error) {
          if (!isStorageFull(error)) throw error;
          // The client still gets the verified manifest; the next request asks upstream again.
          metrics.blobNotStored(upstream.name, "storage-full");
          logger.warn(
            { upstream: upstream.name, repository, digest },
            "the disk is full: serving a manifest without storing it",
          );
          return manifest;
        }
        await record("manifest media type", () =>
          records.putManifestMediaType(digest, fetched.mediaType),
        );
        logger.debug({ upstream: upstream.name, repository, digest }, "manifest cached");
        memory.remember(manifest);
        return manifest;
      },
      () => metrics.coalescedWaiter("manifest"),
    );
  }

  async function byDigest(upstream: UpstreamConnection, repository: string, digest: string) {
    const stored = await readStored(digest);
    if (stored !== undefined) {
      metrics.cacheHit("manifest");
      // Not awaited when known: a hit waits for nothing it does not need.
      if (!isRemembered(upstream, repository)) await rememberRepository(upstream, repository);
      return stored;
    }
    try {
      const fetched = await fetchByDigest(upstream, repository, digest);
      await rememberRepository(upstream, repository);
      return fetched;
    } catch (error) {
      if (classifyUpstreamError(error) === "not-found") return undefined;
      throw toClientError(error, upstream.name, "MANIFEST_UNKNOWN");
    }
  }

  /**
   * Near the upstream's pull limit (docs/adr/0030-upstream-rate-limits.md), a tag that moved
   * upstream is answered with the digest the cache holds rather than spending one of the last
   * pulls on the new manifest; the record is left as it was, so the tag moves once there is room.
   */
  async function keepPull(
    upstream: UpstreamConnection,
    repository: string,
    tag: string,
    known: TagRecord | undefined,
    upstreamDigest: string,
  ): Promise<StoredManifest | undefined> {
    if (known === undefined || !upstream.rateLimit.isLow()) return undefined;
    const held = await readStored(known.digest);
    if (held === undefined) return undefined;
    upstream.rateLimit.spared();
    metrics.rateLimitSpared(upstream.name);
    const { remaining, limit } = upstream.rateLimit.status();
    logger.warn(
      {
        upstream: upstream.name,
        repository,
        tag,
        digest: held.digest,
        upstreamDigest,
        remaining,
        limit,
      },
      "upstream rate limit nearly spent: serving the tag's cached digest instead of spending a pull on its new one",
    );
    return held;
  }

  async function resolveTag(
    upstream: UpstreamConnection,
    repository: string,
    tag: string,
    known: TagRecord | undefined,
  ) {
    let manifest: StoredManifest | undefined;
    try {
      // One deadline for the HEAD and the GET: the client waits for both.
      const deadlineAt = upstream.deadline();
      const head =
        (await deps.peers?.fetcher.resolveTag(
          deps.peers.clientPath(upstream, repository),
          `${upstream.name}/${repository}:${tag}`,
          tag,
        )) ??
        (await upstream.request(
          "head-manifest",
          (client, signal) => client.headManifest(repository, tag, { signal }),
          { deadlineAt },
        ));
      manifest = await readStored(head.digest);
      if (manifest === undefined) {
        const kept = await keepPull(upstream, repository, tag, known, head.digest);
        if (kept !== undefined) return kept;
        // Through the digest's owner, also when a peer asked this replica about the tag: the
        // peer's question (the tag) is answered here, but the manifest is another key, and
        // fetching it from upstream here would make two downloads, this one and its owner's.
        const digest = head.digest;
        manifest = await runWithPeerMark({ fromPeer: false }, () =>
          fetchByDigest(upstream, repository, digest, deadlineAt),
        );
      } else metrics.cacheHit("manifest");
    } catch (error) {
      const kind = classifyUpstreamError(error);
      if (kind === "not-found") return undefined;
      const stale =
        isUnavailable(kind) && known !== undefined ? await readStored(known.digest) : undefined;
      if (stale === undefined) throw toClientError(error, upstream.name, "MANIFEST_UNKNOWN");
      metrics.servedStale(upstream.name, "tag");
      logger.warn(
        {
          upstream: upstream.name,
          repository,
          tag,
          digest: stale.digest,
          kind,
          resolvedAt: known?.fetchedAt,
        },
        "upstream unavailable: serving the tag's last known digest",
      );
      return stale;
    }
    const resolved = manifest;
    // With no freshness window the record's time only says when the tag was last confirmed:
    // an unchanged tag is written down at most once a minute (each write is an fsync).
    const unchanged = known?.digest === resolved.digest && known.mediaType === resolved.mediaType;
    if (
      unchanged &&
      deps.tagFreshnessMs === 0 &&
      clock.now() - known.fetchedAt < unchangedTagRecordIntervalMs
    ) {
      return resolved;
    }
    await record("tag", () =>
      records.putTag(upstream.name, repository, tag, {
        digest: resolved.digest,
        mediaType: resolved.mediaType,
        fetchedAt: clock.now(),
      }),
    );
    // A tag whose manifest another repository brought in still puts its repository in the
    // catalog (what `ls` and the catalog list).
    if (known === undefined) {
      await record("repository", () => records.rememberRepository(upstream.name, repository));
    }
    return resolved;
  }

  async function byTag(upstream: UpstreamConnection, repository: string, tag: string) {
    const manifest = await resolveByTag(upstream, repository, tag);
    if (manifest !== undefined) await rememberRepository(upstream, repository);
    return manifest;
  }

  async function resolveByTag(upstream: UpstreamConnection, repository: string, tag: string) {
    const known = await records.getTag(upstream.name, repository, tag);
    const cached = known === undefined ? undefined : await readStored(known.digest);
    if (
      cached !== undefined &&
      deps.tagFreshnessMs > 0 &&
      clock.now() - (known?.fetchedAt ?? 0) < deps.tagFreshnessMs
    ) {
      metrics.cacheHit("manifest");
      return cached;
    }
    const resolution = tagFlights.run(
      `${upstream.name}/${repository}:${tag}`,
      () => resolveTag(upstream, repository, tag, known),
      () => metrics.coalescedWaiter("manifest"),
    );
    if (cached === undefined) return resolution;
    // The cache can answer: upstream gets staleAfterMs to confirm or move the tag.
    const answer = await firstWithin(resolution, deps.staleAfterMs);
    if (answer.settled) return answer.value;
    resolution.catch(() => {}); // it goes on, and updates the record when upstream answers
    metrics.servedStale(upstream.name, "tag");
    logger.warn(
      {
        upstream: upstream.name,
        repository,
        tag,
        digest: cached.digest,
        waitedMs: deps.staleAfterMs,
        resolvedAt: known?.fetchedAt,
      },
      "upstream slow: serving the tag's last known digest",
    );
    return cached;
  }

  return { byDigest, byTag };
}
