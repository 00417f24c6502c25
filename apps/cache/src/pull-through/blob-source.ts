/**
 * Blobs through the cache: from the store; else from the one running fill of the digest
 * (single flight keyed by digest), started on the first miss. HEAD (`stat`) never downloads a
 * body: the store, a running fill, else an upstream HEAD. Small blobs, once read from the store,
 * are served from memory while the store still holds them (ADR 0035).
 */

import type { BlobStore } from "@regmirror/blob-store";
import type { BlobReader, BlobStat, ByteRange, Logger, OpenedBlob } from "@regmirror/core";
import { RegistryError } from "@regmirror/oci-distribution";
import type { PeerBlobFetcher } from "../peers/peer-blob-fetcher.js";
import type { PeerMetrics } from "../peers/peer-metrics.js";
import { servingPeerRequest } from "../peers/peer-request.js";
import { BlobFill, type BlobFillDeps } from "./blob-fill.js";
import {
  bufferedBlob,
  ContentMemory,
  countingReads,
  type RememberedContent,
  readWhole,
  smallBlobMaxBytes,
} from "./content-memory.js";
import { DirectReader } from "./direct-reader.js";
import type { PullThroughMetrics } from "./pull-through-metrics.js";
import { createSingleFlight } from "./single-flight.js";
import { SpoolReader } from "./spool-reader.js";
import type { SpoolSpace } from "./spool-space.js";
import type { UpstreamConnection } from "./upstream-connection.js";
import { classifyUpstreamError, toClientError } from "./upstream-errors.js";

export interface BlobSourceDeps {
  blobStore: BlobStore;
  spoolDirectory: string;
  space: SpoolSpace;
  logger: Logger;
  metrics: PullThroughMetrics;
  /** Replicas sharing their downloads: a miss of a digest another replica owns goes there. */
  peers?: {
    fetcher: PeerBlobFetcher;
    metrics: PeerMetrics;
    /** The repository as a client names it (a peer routes it as this replica would). */
    clientPath(upstream: UpstreamConnection, repository: string): string;
  };
}

/** One blob download under way, as the status page shows it. */
export interface DownloadProgress {
  digest: string;
  upstream: string;
  repository: string;
  /** From upstream's Content-Length; undefined until known. */
  size: number | undefined;
  received: number;
  /** Clients reading this download now (the first one and those who joined). */
  clients: number;
  startedAt: number;
  state: "starting" | "downloading" | "verified" | "failed";
}

export interface BlobSource {
  stat(
    upstream: UpstreamConnection,
    repository: string,
    digest: string,
  ): Promise<BlobStat | undefined>;
  open(
    upstream: UpstreamConnection,
    repository: string,
    digest: string,
    range: ByteRange | undefined,
  ): Promise<OpenedBlob | undefined>;
  /** Waits for the fills under way to end (after the storage's signal aborted them). */
  drain(): Promise<void>;
  downloads(): DownloadProgress[];
}

/** How much memory the small blobs may take, least recently used dropped first. */
const smallBlobMemoryBytes = 16 * 1024 * 1024;

/** A client of a streamed-through fill that has to start its own download. */
const startAgain = Symbol("start again");

export function createBlobSource(deps: BlobSourceDeps): BlobSource {
  const { blobStore, metrics } = deps;
  const fills = new Map<string, BlobFill>();
  const heads = createSingleFlight<BlobStat>();
  const smallBlobs = new ContentMemory<RememberedContent>(smallBlobMemoryBytes);

  /** The running fill of `digest` with a reference held for the caller, or undefined. */
  function joinFill(digest: string, countAsWaiter: boolean): BlobFill | undefined {
    const fill = fills.get(digest);
    if (fill === undefined) return undefined;
    fill.acquire();
    if (countAsWaiter) metrics.coalescedWaiter("blob");
    return fill;
  }

  /**
   * Through the peers when another replica owns the digest and this request is not a peer's
   * own (a peer's request is served here: it never goes round again).
   */
  function peerRoute(
    upstream: UpstreamConnection,
    repository: string,
    digest: string,
  ): BlobFillDeps["throughPeers"] {
    const { peers } = deps;
    if (peers === undefined) return undefined;
    if (servingPeerRequest() || !peers.fetcher.ownedByOther(digest)) {
      peers.metrics.ownerFill();
      return undefined;
    }
    const path = peers.clientPath(upstream, repository);
    return (fromUpstream) =>
      peers.fetcher.open(path, digest, fromUpstream, (bytes) =>
        metrics.bytesFromUpstream(upstream.name, bytes),
      );
  }

  function startFill(upstream: UpstreamConnection, repository: string, digest: string): BlobFill {
    const throughPeers = peerRoute(upstream, repository, digest);
    const fillDeps: BlobFillDeps = { ...deps, upstream, repository };
    if (throughPeers !== undefined) fillDeps.throughPeers = throughPeers;
    const fill: BlobFill = new BlobFill(digest, fillDeps, () => {
      if (fills.get(digest) === fill) fills.delete(digest);
    });
    fills.set(digest, fill);
    fill.acquire();
    return fill;
  }

  /** The store's bytes, counted as served from the cache. */
  async function fromStore(
    digest: string,
    range: ByteRange | undefined,
  ): Promise<OpenedBlob | undefined> {
    const remembered = range === undefined ? smallBlobs.get(digest) : undefined;
    if (remembered !== undefined) {
      // The store decides whether the blob is still cached, and keeps its last access.
      if (await blobStore.touch(digest)) {
        metrics.cacheHit("blob");
        metrics.bytesServedFromCache(remembered.bytes.byteLength);
        return bufferedBlob(remembered);
      }
      smallBlobs.forget(digest);
    }
    const stored = await blobStore.open(digest, range);
    if (stored === undefined) return undefined;
    metrics.cacheHit("blob");
    if (range === undefined && stored.size > 0 && stored.size <= smallBlobMaxBytes) {
      const content = { digest, bytes: await readWhole(stored) };
      smallBlobs.remember(content);
      metrics.bytesServedFromCache(content.bytes.byteLength);
      return bufferedBlob(content);
    }
    return countingReads(stored, (bytesRead) => metrics.bytesServedFromCache(bytesRead));
  }

  async function followFill(
    fill: BlobFill,
    upstream: UpstreamConnection,
    range: ByteRange | undefined,
  ): Promise<OpenedBlob | undefined | typeof startAgain> {
    let start: Awaited<BlobFill["started"]>;
    try {
      start = await fill.started;
    } catch (error) {
      fill.release();
      if (classifyUpstreamError(error) === "not-found") return undefined;
      throw toClientError(error, upstream.name, "BLOB_UNKNOWN");
    }
    if (start.kind === "stored") {
      fill.release();
      return fromStore(fill.digest, range);
    }
    if (start.kind === "direct") return followDirect(fill, upstream, start.size, range);
    // Upstream sent no Content-Length: the size is known once the download is verified.
    if (fill.size === undefined) await fill.done;
    const size = fill.size;
    if (fill.state === "failed" || size === undefined) {
      // Failed between answering and now: the client can still get an error instead of a cut.
      fill.release();
      throw toClientError(fill.error, upstream.name, "BLOB_UNKNOWN");
    }
    if (range !== undefined && range.start >= size) {
      fill.release();
      throw new RegistryError("RANGE_INVALID", { detail: { size } });
    }
    const first = range?.start ?? 0;
    const last = Math.min(range?.end ?? size - 1, size - 1);
    const reader = new SpoolReader(fill, first, range === undefined ? undefined : last);
    return { digest: fill.digest, size, start: first, end: last, reader };
  }

  /** A blob streamed through without storing: one client per download. */
  function followDirect(
    fill: BlobFill,
    upstream: UpstreamConnection,
    size: number,
    range: ByteRange | undefined,
  ): OpenedBlob | typeof startAgain {
    const download = fill.takeDirectDownload();
    if (download === undefined) {
      // Another client of this fill took its download: this one needs its own.
      fill.release();
      return startAgain;
    }
    if (range !== undefined && range.start >= size) {
      fill.release();
      download.destroy();
      throw new RegistryError("RANGE_INVALID", { detail: { size } });
    }
    const first = range?.start ?? 0;
    const end = Math.min(range?.end ?? size - 1, size - 1);
    const reader = new DirectReader(download, first, end, (bytes) =>
      metrics.bytesFromUpstream(upstream.name, bytes),
    );
    const releasing: BlobReader = {
      read: (buffer) => reader.read(buffer),
      close: async () => {
        await reader.close();
        fill.release();
      },
    };
    return { digest: fill.digest, size, start: first, end, reader: releasing };
  }

  return {
    async stat(upstream, repository, digest) {
      const stored = await blobStore.stat(digest);
      if (stored !== undefined) return stored;
      const fill = joinFill(digest, false);
      if (fill !== undefined) {
        try {
          const start = await fill.started;
          if (start.kind === "stored") return await blobStore.stat(digest);
          if (fill.size !== undefined) return { digest, size: fill.size };
        } catch {
          // The fill failed; upstream answers the HEAD below.
        } finally {
          fill.release();
        }
      }
      try {
        // Many clients asking at once about one blob make one upstream HEAD.
        return await heads.run(`${upstream.name} ${digest}`, () =>
          upstream.request("head-blob", (client, signal) =>
            client.headBlob(repository, digest, { signal }),
          ),
        );
      } catch (error) {
        if (classifyUpstreamError(error) === "not-found") return undefined;
        throw toClientError(error, upstream.name, "BLOB_UNKNOWN");
      }
    },

    async open(upstream, repository, digest, range) {
      // More than one round only for blobs streamed through without storing, whose download
      // serves one client: the others start their own.
      for (let round = 0; ; round += 1) {
        const running = joinFill(digest, true);
        let fill = running;
        if (fill === undefined) {
          const stored = await fromStore(digest, range);
          if (stored !== undefined) return stored;
          fill = joinFill(digest, true);
          if (fill === undefined) {
            metrics.cacheMiss("blob");
            fill = startFill(upstream, repository, digest);
          }
        }
        const opened = await followFill(fill, upstream, range);
        if (opened !== startAgain) return opened;
        if (round >= 8) {
          throw new RegistryError("UNAVAILABLE", {
            status: 507,
            message: "the cache's storage is full and too many clients want this blob at once",
            detail: { reason: "storage-full" },
          });
        }
      }
    },

    downloads() {
      return [...fills.values()].map((fill) => fill.progress());
    },

    async drain() {
      await Promise.all([...fills.values()].map((fill) => fill.done));
    },
  };
}
