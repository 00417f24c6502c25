/**
 * A fill: the one upstream download of one blob (docs/adr/0009-pull-through-blob-fill.md).
 * It streams the upstream body, verified by the registry client (digest and Content-Length),
 * into a spool file that clients follow (spool-reader.ts), then hands the spool file to the
 * blob store, which verifies it and links it into place: the blob is on disk once, never
 * copied (docs/adr/0015-filesystem-store-ownership-and-space.md). The fill belongs to the
 * cache, not to a request: clients that go away only stop their own followers. On failure
 * every follower is destroyed and nothing is committed. A follower that reads to the blob's end
 * ends only once the blob is committed (`committed`), so whoever read a fill to its end finds the
 * blob in the store; a commit that fails is that follower's error. A blob the disk has no room for, even
 * after eviction, is not spooled: its first client reads the download directly
 * (direct-reader.ts) and it is not stored.
 */

import { randomUUID } from "node:crypto";
import { type FileHandle, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { BlobStore } from "@regmirror/blob-store";
import { describeError, type Logger } from "@regmirror/core";
import { parseDigest } from "@regmirror/oci-distribution";
import type { FillDownload, PeerFillDownload } from "../peers/peer-blob-fetcher.js";
import type { DownloadProgress } from "./blob-source.js";
import type { PullThroughMetrics } from "./pull-through-metrics.js";
import type { SpoolReservation, SpoolSpace } from "./spool-space.js";
import type { UpstreamConnection } from "./upstream-connection.js";
import { isStorageFull } from "./upstream-errors.js";

export type FillState = "starting" | "downloading" | "verified" | "failed";

/**
 * How a fill started: streaming into the spool, the blob turned out to be stored already, or
 * streaming straight to one client because there is no room to keep it.
 */
export type FillStart =
  | { kind: "spool"; size: number | undefined }
  | { kind: "stored" }
  | { kind: "direct"; size: number };

export interface BlobFillDeps {
  upstream: UpstreamConnection;
  repository: string;
  blobStore: BlobStore;
  spoolDirectory: string;
  space: SpoolSpace;
  logger: Logger;
  metrics: PullThroughMetrics;
  /**
   * Set when another replica owns the digest: the download comes through the replicas
   * (peers/peer-blob-fetcher.ts), which call `fromUpstream` only when none could give it. The
   * blob is stored only when this replica fetched it from upstream; else its owner stores it.
   */
  throughPeers?: (fromUpstream: () => Promise<FillDownload>) => Promise<PeerFillDownload>;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

export class BlobFill {
  state: FillState = "starting";
  /** The blob's size from upstream; undefined until known (or when upstream did not say). */
  size: number | undefined;
  /** Bytes in the spool file, readable by followers. */
  written = 0;
  error: Error | undefined;
  /** Resolves once upstream answered with the body (or the blob was found stored); rejects with the upstream error. */
  readonly started: Promise<FillStart>;
  /** Settles when the fill is over: committed (or found stored), or failed. Never rejects. */
  readonly done: Promise<void>;
  /**
   * Resolves once the blob is in the store (or needs no storing here: its peer owner stores it);
   * rejects with the download's or the commit's error.
   */
  readonly committed: Promise<void>;

  readonly startedAt = Date.now();
  #handle: FileHandle | undefined;
  /** A download nobody spools, for the one client that takes it. */
  #direct: Readable | undefined;
  #references = 1;
  #change = deferred<void>();
  #start = deferred<FillStart>();
  #commit = deferred<void>();

  constructor(
    readonly digest: string,
    private readonly deps: BlobFillDeps,
    /** Called when new requests must no longer join this fill. */
    onRetire: () => void,
  ) {
    this.started = this.#start.promise;
    // Nobody may be waiting on `started` when the fill fails early; that is not an unhandled error.
    this.started.catch(() => {});
    this.committed = this.#commit.promise;
    this.committed.catch(() => {});
    this.done = this.#run(deps, onRetire);
  }

  /** The spool, for followers; defined while the fill has followers or is running. */
  get handle(): FileHandle {
    if (this.#handle === undefined) throw new Error("the spool of this fill is closed");
    return this.#handle;
  }

  /** Resolves at the next change: more bytes in the spool, verified or failed. */
  nextChange(): Promise<void> {
    return this.#change.promise;
  }

  /** What the status page shows of this download. */
  progress(): DownloadProgress {
    return {
      digest: this.digest,
      upstream: this.deps.upstream.name,
      repository: this.deps.repository,
      size: this.size,
      received: this.written,
      // One reference is the fill's own while it runs.
      clients: Math.max(0, this.#references - 1),
      startedAt: this.startedAt,
      state: this.state,
    };
  }

  /** A follower holds the spool open until it releases it. */
  acquire(): void {
    this.#references += 1;
  }

  release(): void {
    this.#references -= 1;
    if (this.#references === 0) {
      const handle = this.#handle;
      this.#handle = undefined;
      void handle?.close().catch(() => {});
      this.#direct?.destroy();
      this.#direct = undefined;
    }
  }

  /** A direct fill's download, for its first follower; undefined for the others. */
  takeDirectDownload(): Readable | undefined {
    const download = this.#direct;
    this.#direct = undefined;
    return download;
  }

  #notify(): void {
    const change = this.#change;
    this.#change = deferred<void>();
    change.resolve();
  }

  async #run(deps: BlobFillDeps, onRetire: () => void): Promise<void> {
    const { upstream, repository, blobStore, logger, metrics } = deps;
    const { algorithm, encoded } = parseDigest(this.digest);
    const spoolPath = join(deps.spoolDirectory, `${algorithm}-${encoded}-${randomUUID()}.spool`);
    let spoolCreated = false;
    let reservation: SpoolReservation | undefined;
    try {
      // A fill that finished just before this one started has committed: no second download.
      if ((await blobStore.stat(this.digest)) !== undefined) {
        this.#start.resolve({ kind: "stored" });
        return;
      }
      const fromUpstream = () =>
        upstream.request("get-blob", (client, signal) =>
          client.getBlob(repository, this.digest, { signal }),
        );
      const throughPeers = deps.throughPeers;
      const download =
        throughPeers === undefined ? await fromUpstream() : await throughPeers(fromUpstream);
      this.size = download.size;
      if (download.size !== undefined) {
        reservation = await deps.space.reserve(download.size);
        if (reservation === undefined) {
          this.#streamThrough(download.stream, download.size, deps);
          onRetire();
          return;
        }
      }
      this.#handle = await open(spoolPath, "wx+");
      spoolCreated = true;
      this.state = "downloading";
      this.#start.resolve({ kind: "spool", size: download.size });
      for await (const chunk of download.stream as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < chunk.byteLength; ) {
          const { bytesWritten } = await this.handle.write(
            chunk,
            offset,
            chunk.byteLength - offset,
            this.written + offset,
          );
          offset += bytesWritten;
        }
        this.written += chunk.byteLength;
        reservation?.wrote(chunk.byteLength);
        // Through peers, the fetcher counts what it took from upstream itself.
        if (throughPeers === undefined) metrics.bytesFromUpstream(upstream.name, chunk.byteLength);
        this.#notify();
      }
      // The client's verifier has checked the digest (and Content-Length when there was one).
      this.size ??= this.written;
      this.state = "verified";
      this.#notify();
      if ("usedUpstream" in download && !download.usedUpstream()) {
        logger.debug({ digest: this.digest }, "a blob served from a peer: its owner stores it");
        return;
      }
      logger.debug(
        { upstream: upstream.name, digest: this.digest, size: this.written },
        "storing a downloaded blob",
      );
      // The store verifies the spool file again and links it into place: no copy.
      await blobStore.putFile(this.digest, spoolPath, { expectedSize: this.written });
      logger.debug(
        { upstream: upstream.name, digest: this.digest, size: this.written },
        "blob cached",
      );
      this.#commit.resolve();
    } catch (error) {
      this.#start.reject(error);
      this.#commit.reject(error);
      if (this.state === "verified") {
        // The clients got verified bytes; only keeping them failed: a follower at the blob's end
        // gets this error (a warm must not count the blob as stored). The next request fetches again.
        logger.error(
          { digest: this.digest, error: describeError(error) },
          "could not store a downloaded blob",
        );
      } else {
        this.error = error instanceof Error ? error : new Error(String(error));
        this.state = "failed";
        if (isStorageFull(error)) {
          metrics.blobNotStored(upstream.name, "storage-full");
          logger.warn(
            { upstream: upstream.name, digest: this.digest, received: this.written },
            "the disk filled up during a download: nothing stored, its clients' transfers are aborted",
          );
        } else if (this.written > 0 || this.size !== undefined) {
          logger.warn(
            {
              upstream: upstream.name,
              digest: this.digest,
              received: this.written,
              error: describeError(error),
            },
            "blob download failed: nothing stored, its clients' transfers are aborted",
          );
        }
        onRetire();
        this.#notify();
      }
    } finally {
      // Found stored, served by a peer, or streamed through without storing: nothing to wait for.
      this.#commit.resolve();
      reservation?.release();
      onRetire();
      if (spoolCreated) await rm(spoolPath, { force: true }).catch(() => {});
      this.release();
    }
  }

  /** No room for the blob even after eviction: its first client reads the download itself. */
  #streamThrough(download: Readable, size: number, deps: BlobFillDeps): void {
    this.#direct = download;
    this.state = "downloading";
    deps.metrics.blobNotStored(deps.upstream.name, "no-space");
    deps.logger.warn(
      { upstream: deps.upstream.name, digest: this.digest, size },
      "no room for a blob even after evicting unused content: streaming it to its client without storing it",
    );
    this.#start.resolve({ kind: "direct", size });
  }
}
