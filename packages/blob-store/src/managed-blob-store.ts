// The store users get: TTL, size cap, access times and put coalescing over a backend.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  type ByteRange,
  DigestVerifier,
  formatDigest,
  type OpenedBlob,
  type ParsedDigest,
  parseDigest,
  silentLogger,
  systemClock,
} from "@regmirror/core";
import { type BlobBackend, validateExpectedSize } from "./blob-backend.js";
import { readableFromReader } from "./blob-reader.js";
import type {
  BlobSource,
  BlobStore,
  EvictionEvent,
  EvictionReason,
  LifecycleOptions,
  PresignOptions,
  PutResult,
  ReadOptions,
} from "./blob-store.js";
import { BlobStoreClosedError, BlobTooLargeError, InvalidOptionsError } from "./errors.js";
import { loadAccessTimes } from "./lifecycle/access-times.js";
import { ReferenceCounts } from "./lifecycle/reference-counts.js";
import { sweepMarks } from "./lifecycle/sweep-marks.js";

function checkLifecycleOptions(options: LifecycleOptions): { lowWaterBytes: number | undefined } {
  const positive = (name: string, value: number | undefined) => {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) {
      throw new InvalidOptionsError(`${name} must be a positive number, got ${value}`);
    }
  };
  positive("ttlMs", options.ttlMs);
  positive("maxBytes", options.maxBytes);
  positive("lowWaterBytes", options.lowWaterBytes);
  if (options.accessPersistIntervalMs !== undefined && !(options.accessPersistIntervalMs >= 0)) {
    throw new InvalidOptionsError("accessPersistIntervalMs must be zero or more");
  }
  if (options.maxBytes === undefined) {
    if (options.lowWaterBytes !== undefined) {
      throw new InvalidOptionsError("lowWaterBytes needs maxBytes");
    }
    return { lowWaterBytes: undefined };
  }
  const lowWaterBytes = options.lowWaterBytes ?? Math.floor(options.maxBytes * 0.9);
  if (lowWaterBytes > options.maxBytes) {
    throw new InvalidOptionsError(
      `lowWaterBytes (${lowWaterBytes}) must not exceed maxBytes (${options.maxBytes})`,
    );
  }
  return { lowWaterBytes };
}

type StreamSource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

/** The same check at run time as in the types: a stream or an iterable of chunks, not bare bytes. */
function toStreamSource(source: BlobSource): StreamSource {
  const described =
    source === null ? "null" : ArrayBuffer.isView(source) ? "bare bytes" : typeof source;
  if (typeof source === "object" && source !== null && !ArrayBuffer.isView(source)) {
    if (Symbol.asyncIterator in source) return source;
    if (Symbol.iterator in source) return Readable.from(source, { objectMode: false });
  }
  throw new InvalidOptionsError(
    `put needs a Readable or an (async) iterable of byte chunks, got ${described}${described === "bare bytes" ? " (pass [bytes])" : ""}`,
  );
}

/** Passes chunks through and fails with BlobTooLargeError once more than `maxBytes` went by. */
async function* atMost(
  source: StreamSource,
  maxBytes: number,
  digest: string,
): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    seen += bytes.byteLength;
    if (seen > maxBytes) throw new BlobTooLargeError(digest, maxBytes);
    yield bytes;
  }
}

/** The longest a SigV4 presigned URL can live: 7 days. */
const maximumPresignSeconds = 7 * 24 * 3600;

function checkPresignExpiry(options: PresignOptions | undefined): number {
  // `options?.`: a JavaScript caller may leave the options out.
  const seconds = options?.expiresInSeconds;
  const whole = typeof seconds === "number" && Number.isSafeInteger(seconds);
  if (whole && seconds >= 1 && seconds <= maximumPresignSeconds) return seconds;
  throw new InvalidOptionsError(
    `expiresInSeconds must be a whole number of seconds from 1 to ${maximumPresignSeconds} (7 days), got ${String(seconds)}`,
  );
}

/**
 * Puts a backend behind the BlobStore interface: digest checks, one write per digest at a time
 * (in-process coalescing), usage accounting, last access per digest, TTL sweep and the size cap.
 */
export async function createManagedBlobStore(
  backend: BlobBackend,
  options: LifecycleOptions,
): Promise<BlobStore> {
  const { lowWaterBytes } = checkLifecycleOptions(options);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const sizes = new Map<string, number>();
  let usedBytes = 0;
  for await (const blob of backend.listBlobs()) {
    sizes.set(blob.digest, blob.size);
    usedBytes += blob.size;
  }
  const accessTimes = await loadAccessTimes(
    backend.metadata,
    new Set(sizes.keys()),
    options.accessPersistIntervalMs ?? 60_000,
    clock,
    logger,
  );
  const references = new ReferenceCounts();
  const putsInFlight = new Map<string, Promise<PutResult>>();
  let evictionPass: Promise<EvictionEvent[]> | undefined;
  let closed = false;

  const checkOpen = () => {
    if (closed) throw new BlobStoreClosedError();
  };

  function remember(digest: string, size: number): void {
    usedBytes += size - (sizes.get(digest) ?? 0);
    sizes.set(digest, size);
  }

  /**
   * Forgets a blob that is gone: its size and its last access. Its access record is removed when
   * this process deleted the blob; when another process did, the record is that one's to remove.
   */
  async function forget(digest: string, deletedBy: "this process" | "another process") {
    usedBytes -= sizes.get(digest) ?? 0;
    sizes.delete(digest);
    if (deletedBy === "this process") await accessTimes.forget(digest);
    else accessTimes.drop(digest);
  }

  async function evict(digest: string, reason: EvictionReason): Promise<EvictionEvent | undefined> {
    if (references.inUse(digest)) return undefined;
    const size = sizes.get(digest) ?? 0;
    const idleMs = clock.now() - (accessTimes.get(digest) ?? clock.now());
    try {
      await backend.delete(parseDigest(digest));
    } catch (error) {
      logger.warn({ digest, error: String(error) }, "could not evict a blob; it stays counted");
      return undefined;
    }
    await forget(digest, "this process");
    const event: EvictionEvent = { digest, size, reason, idleMs };
    logger.info({ ...event }, "evicted a blob");
    try {
      options.onEvict?.(event);
    } catch (error) {
      logger.warn({ error: String(error) }, "the onEvict callback threw");
    }
    return event;
  }

  async function evictExpired(): Promise<EvictionEvent[]> {
    const evicted: EvictionEvent[] = [];
    if (options.ttlMs === undefined) return evicted;
    const now = clock.now();
    for (const digest of [...sizes.keys()]) {
      const idle = now - (accessTimes.get(digest) ?? now);
      if (idle > options.ttlMs) {
        // Another replica may have read it since: its record says so.
        if (shared && now - (await accessTimes.reload(digest)) <= options.ttlMs) continue;
        const event = await evict(digest, "ttl");
        if (event) evicted.push(event);
      }
    }
    return evicted;
  }

  async function enforceCapOnce(): Promise<EvictionEvent[]> {
    const evicted: EvictionEvent[] = [];
    if (options.maxBytes === undefined || lowWaterBytes === undefined) return evicted;
    if (usedBytes <= options.maxBytes) return evicted;
    const leastRecentFirst = [...sizes.keys()].sort(
      (a, b) => (accessTimes.get(a) ?? 0) - (accessTimes.get(b) ?? 0),
    );
    for (const digest of leastRecentFirst) {
      if (usedBytes <= lowWaterBytes) break;
      const knownAccess = accessTimes.get(digest) ?? 0;
      if (shared && (await accessTimes.reload(digest)) > knownAccess) continue;
      const event = await evict(digest, "size-cap");
      if (event) evicted.push(event);
    }
    if (usedBytes > options.maxBytes) {
      logger.warn(
        { usedBytes, maxBytes: options.maxBytes },
        "over the size cap: the remaining blobs are in use",
      );
    }
    return evicted;
  }

  /** One eviction pass at a time; a caller that finds one running waits and checks again. */
  async function exclusively(pass: () => Promise<EvictionEvent[]>): Promise<EvictionEvent[]> {
    while (evictionPass) await evictionPass.catch(() => {});
    evictionPass = pass();
    try {
      return await evictionPass;
    } finally {
      evictionPass = undefined;
    }
  }

  const { shared } = options;
  const marks = sweepMarks(backend.metadata, clock);
  /** This process sweeps in the place of the one whose turn it is, which has stopped. */
  let standingIn = false;
  /** With shared storage only the process whose turn it is evicts (SharedStorageOptions). */
  const evictsHere = () => shared === undefined || shared.evictsNow() || standingIn;

  /**
   * Whether this sweep is this process's to make. With shared storage it leaves its mark first
   * (before a sweep that may take long), which tells the others it still sweeps.
   */
  async function sweepsHere(): Promise<boolean> {
    if (shared === undefined) return true;
    const owns = shared.evictsNow();
    const after = owns ? undefined : shared.standInAfterSweeps?.();
    const standIn = after !== undefined && (await marks.silentFor(after));
    if (standIn && !standingIn) {
      logger.warn(
        { sweepsWithoutMark: after },
        "the process whose turn it is to sweep the shared storage left no mark: sweeping in its place",
      );
    } else if (!standIn && standingIn && !owns) {
      logger.info({}, "the process whose turn it is sweeps the shared storage again");
    }
    standingIn = standIn;
    if (!owns && !standIn) return false;
    await marks.mark();
    return true;
  }

  const enforceCap = () => (evictsHere() ? exclusively(enforceCapOnce) : Promise.resolve([]));

  /** Takes in what other processes sharing the storage stored or deleted since we looked. */
  async function rescan(): Promise<void> {
    const listed = new Set<string>();
    for await (const blob of backend.listBlobs()) {
      listed.add(blob.digest);
      if (sizes.has(blob.digest)) continue;
      remember(blob.digest, blob.size);
      await accessTimes.reload(blob.digest);
    }
    for (const digest of [...sizes.keys()]) {
      // A blob written or read here right now may have been committed after the listing.
      if (listed.has(digest) || references.inUse(digest)) continue;
      await forget(digest, "another process");
    }
  }

  /** Least recently used first; blobs being read or written are never candidates. */
  function evictionCandidates(): string[] {
    return [...sizes.keys()]
      .filter((digest) => !references.inUse(digest))
      .sort((a, b) => (accessTimes.get(a) ?? 0) - (accessTimes.get(b) ?? 0));
  }

  /** Evicts until the disk has `bytes` free, unless even every candidate would not do. */
  async function makeRoomOnce(bytes: number, freeBytes: () => Promise<number>) {
    const evicted: EvictionEvent[] = [];
    let free = await freeBytes();
    if (free >= bytes) return evicted;
    const candidates = evictionCandidates();
    const reclaimable = candidates.reduce((sum, digest) => sum + (sizes.get(digest) ?? 0), 0);
    if (free + reclaimable < bytes) {
      logger.info(
        { neededBytes: bytes, freeBytes: free, reclaimableBytes: reclaimable },
        "not enough disk space even after evicting every unused blob: evicting none",
      );
      return evicted;
    }
    for (const digest of candidates) {
      const event = await evict(digest, "disk-space");
      if (event) evicted.push(event);
      free = await freeBytes();
      if (free >= bytes) break;
    }
    return evicted;
  }

  /** Reads and verifies a source whose blob is stored already, storing nothing. */
  async function verifyOnly(
    digest: ParsedDigest,
    source: StreamSource,
    expectedSize: number | undefined,
  ): Promise<number> {
    const verifier = new DigestVerifier(formatDigest(digest), expectedSize);
    await pipeline(
      source as AsyncIterable<Uint8Array>,
      verifier,
      new Writable({ write: (_chunk, _encoding, callback) => callback() }),
    );
    return verifier.size;
  }

  /**
   * One write of a digest, holding a reference so the new blob is not evicted by its own put:
   * when the blob is stored already, `whenStored` gives the size to report; else `write` stores it.
   */
  async function writeOnce(
    digest: ParsedDigest,
    whenStored: (storedSize: number) => Promise<number>,
    write: () => Promise<{ size: number; created: boolean }>,
  ): Promise<PutResult> {
    const key = formatDigest(digest);
    const release = references.acquire(key);
    try {
      const storedSize = await backend.stat(digest);
      if (storedSize !== undefined) {
        const size = await whenStored(storedSize);
        remember(key, storedSize);
        accessTimes.touch(key);
        return { digest: key, size, created: false };
      }
      const { size, created } = await write();
      remember(key, size);
      await accessTimes.touchAndPersist(key);
      await enforceCap();
      return { digest: key, size, created };
    } finally {
      release();
    }
  }

  /** The coalescing every write of a digest goes through: one at a time per digest. */
  async function coalesced(
    digest: ParsedDigest,
    write: () => Promise<PutResult>,
  ): Promise<PutResult> {
    // Concurrent puts of one digest run one after the other: the first writes, the rest
    // find the blob stored and only verify their bytes.
    const key = formatDigest(digest);
    for (let running = putsInFlight.get(key); running; ) {
      await running.catch(() => {});
      running = putsInFlight.get(key);
    }
    const attempt = write();
    putsInFlight.set(key, attempt);
    try {
      return await attempt;
    } finally {
      if (putsInFlight.get(key) === attempt) putsInFlight.delete(key);
    }
  }

  async function open(
    digest: string,
    range?: ByteRange,
    readOptions: ReadOptions = {},
  ): Promise<OpenedBlob | undefined> {
    checkOpen();
    const parsed = parseDigest(digest);
    const release = references.acquire(digest);
    let result: OpenedBlob | undefined;
    try {
      result = await backend.read(parsed, range);
    } catch (error) {
      release();
      throw error;
    }
    if (result === undefined) {
      release();
      return undefined;
    }
    // The blob is protected from eviction until its reader is closed.
    const { reader } = result;
    let released = false;
    const close = async () => {
      if (!released) {
        released = true;
        release();
      }
      await reader.close();
    };
    if (!sizes.has(digest)) remember(digest, result.size);
    if (readOptions.countAsAccess !== false) accessTimes.touch(digest);
    return { ...result, reader: { read: (buffer) => reader.read(buffer), close } };
  }

  const { presignGet } = backend;
  const presigning: Pick<BlobStore, "presignedUrl"> =
    presignGet === undefined
      ? {}
      : {
          async presignedUrl(digest, presignOptions) {
            checkOpen();
            const parsed = parseDigest(digest);
            const expiresInSeconds = checkPresignExpiry(presignOptions);
            // Always the backend's word: in a shared bucket another replica may have stored the
            // blob, or evicted it, since this process counted it (a URL to nothing is a 404).
            const size = await backend.stat(parsed);
            if (size === undefined) {
              if (sizes.has(digest)) await forget(digest, "another process");
              return undefined;
            }
            if (!sizes.has(digest)) remember(digest, size);
            // A handed-out URL is a read the store cannot see: it makes the blob recently used.
            accessTimes.touch(digest);
            return presignGet.call(backend, parsed, expiresInSeconds);
          },
        };

  return {
    ...presigning,
    async stat(digest) {
      checkOpen();
      const parsed = parseDigest(digest);
      const size = await backend.stat(parsed);
      return size === undefined ? undefined : { digest: digest, size };
    },

    async get(digest, range, readOptions) {
      const reading = await open(digest, range, readOptions);
      if (reading === undefined) return undefined;
      const { reader, ...where } = reading;
      return { body: readableFromReader(reader, where.end - where.start + 1), ...where };
    },

    open,

    async touch(digest) {
      checkOpen();
      // Only valid digests are in `sizes`: a known one needs no parsing (asked on every hit).
      if (sizes.has(digest)) {
        accessTimes.touch(digest);
        return true;
      }
      parseDigest(digest);
      return false;
    },

    async put(digest, source, putOptions = {}) {
      checkOpen();
      const parsed = parseDigest(digest);
      validateExpectedSize(putOptions.expectedSize);
      const { expectedSize } = putOptions;
      const streamSource = toStreamSource(source);
      const { maxBytes } = options;
      if (maxBytes !== undefined && (expectedSize ?? 0) > maxBytes) {
        throw new BlobTooLargeError(digest, maxBytes, expectedSize);
      }
      return coalesced(parsed, () =>
        writeOnce(
          parsed,
          // The source is still read and verified: a caller learns when its bytes were wrong.
          () => verifyOnly(parsed, streamSource, expectedSize),
          () => {
            // A blob larger than the cap would evict everything else and then itself: refuse it.
            const bounded =
              maxBytes === undefined || (expectedSize ?? Number.POSITIVE_INFINITY) <= maxBytes
                ? streamSource
                : Readable.from(atMost(streamSource, maxBytes, digest));
            return backend.write(parsed, bounded, expectedSize);
          },
        ),
      );
    },

    async putFile(digest, path, putOptions = {}) {
      checkOpen();
      const parsed = parseDigest(digest);
      validateExpectedSize(putOptions.expectedSize);
      if (typeof path !== "string" || path === "") {
        throw new InvalidOptionsError(`putFile needs the path of a file, got ${String(path)}`);
      }
      const { expectedSize } = putOptions;
      const { maxBytes } = options;
      const size = expectedSize ?? (await stat(path)).size;
      if (maxBytes !== undefined && size > maxBytes) {
        throw new BlobTooLargeError(digest, maxBytes, size);
      }
      return coalesced(parsed, () =>
        writeOnce(
          parsed,
          // Nothing of the file is kept: there is nothing to verify.
          async (storedSize) => storedSize,
          () =>
            backend.writeFile
              ? backend.writeFile(parsed, path, expectedSize)
              : backend.write(parsed, createReadStream(path), expectedSize),
        ),
      );
    },

    async makeRoom(bytes) {
      checkOpen();
      if (!Number.isSafeInteger(bytes) || bytes < 0) {
        throw new InvalidOptionsError(`makeRoom needs a byte count, got ${String(bytes)}`);
      }
      const { freeBytes } = backend;
      if (freeBytes === undefined) return true;
      const measure = () => freeBytes.call(backend);
      await exclusively(() => makeRoomOnce(bytes, measure));
      return (await measure()) >= bytes;
    },

    async delete(digest) {
      checkOpen();
      const parsed = parseDigest(digest);
      const existed = await backend.delete(parsed);
      await forget(digest, "this process");
      return existed;
    },

    async evict(digest) {
      checkOpen();
      const parsed = parseDigest(digest);
      if (references.inUse(digest)) return "in-use";
      if (!sizes.has(digest) && (await backend.stat(parsed)) === undefined) return "absent";
      if ((await evict(digest, "manual")) !== undefined) return "evicted";
      if (references.inUse(digest)) return "in-use"; // a reader came in meanwhile
      throw new Error(`could not remove ${digest} from the store (see the log)`);
    },

    async inspect(digest) {
      checkOpen();
      const parsed = parseDigest(digest);
      const size = sizes.get(digest) ?? (await backend.stat(parsed));
      if (size === undefined) return undefined;
      return {
        digest,
        size,
        lastAccessAt: accessTimes.get(digest) ?? clock.now(),
        inUse: references.inUse(digest),
      };
    },

    async *list() {
      checkOpen();
      for await (const blob of backend.listBlobs()) yield blob.digest;
    },

    metadata: backend.metadata,

    async usage() {
      checkOpen();
      return { bytes: usedBytes, blobs: sizes.size };
    },

    async sweep() {
      checkOpen();
      if (!(await sweepsHere())) return { evicted: [], skipped: true };
      if (shared) {
        await exclusively(async () => {
          await rescan();
          return [];
        });
      }
      const expired = await evictExpired();
      const overCap = await enforceCap();
      return { evicted: [...expired, ...overCap], skipped: false };
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(putsInFlight.values());
      await accessTimes.flush();
      await backend.close();
    },
  };
}
