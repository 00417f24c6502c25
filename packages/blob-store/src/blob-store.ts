// The blob store's interface and options. Blobs, ranges, readers, the logger and the clock are
// @regmirror/core's words.
import type { Readable } from "node:stream";
import type { BlobStat, ByteRange, Clock, Logger, OpenedBlob } from "@regmirror/core";

export interface ReadOptions {
  /** False: an inspection, not a use; the last access (and so TTL and eviction order) stays. */
  countAsAccess?: boolean;
}

/** What `get()` gives: the blob's bytes (or a range of them) as a stream. */
export interface BlobReadResult {
  body: Readable;
  /** Size of the whole blob. */
  size: number;
  /** The inclusive range `body` holds (0..size-1 without a range). */
  start: number;
  end: number;
}

/** What `put` reads: a Readable, or any iterable or async iterable of byte chunks (`[bytes]`). */
export type BlobSource = NodeJS.ReadableStream | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface PutOptions {
  /** When known (e.g. from a manifest or Content-Length), a blob of any other size is refused. */
  expectedSize?: number;
}

export interface PutResult {
  digest: string;
  size: number;
  /** False when the blob was already stored: the source was read and verified, not stored twice. */
  created: boolean;
}

export interface PresignOptions {
  /** How long the URL works, 1 to 604 800 s (7 days, the most S3 signatures allow). */
  expiresInSeconds: number;
}

export interface StoreUsage {
  bytes: number;
  blobs: number;
}

/** Small records the cache keeps next to the blobs (tag → digest, ...). Keys are `a/b/c` paths. */
export interface MetadataStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Keys that start with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
}

/** Why a blob left the store: its TTL, the size cap, a full disk, or `evict()` (an operator). */
export type EvictionReason = "ttl" | "size-cap" | "disk-space" | "manual";

/** What `evict()` did: removed the blob, kept it because it is being read or written, or found none. */
export type EvictOutcome = "evicted" | "in-use" | "absent";

/** What the store knows of one blob (`inspect()`). */
export interface BlobInspection {
  digest: string;
  size: number;
  /** Last read or write (clock time, ms). */
  lastAccessAt: number;
  /** Being read or written now: eviction leaves it alone. */
  inUse: boolean;
}

export interface EvictionEvent {
  digest: string;
  size: number;
  reason: EvictionReason;
  /** Milliseconds since the last read or write of the blob. */
  idleMs: number;
}

export interface SweepResult {
  evicted: EvictionEvent[];
  /** True when this process left the sweep to another one sharing the storage (`shared`). */
  skipped: boolean;
}

/** Several processes (replicas) keep one storage, e.g. one S3 bucket: one of them evicts. */
export interface SharedStorageOptions {
  /**
   * Whether this process is the one that evicts now. While false, its `sweep()` and its puts
   * evict nothing (a blob larger than `maxBytes` is still refused). While true, `sweep()` first
   * rescans the storage, so the TTL and the size cap count what the others stored, and every
   * blob about to be evicted has its access record read again, so a blob another process read
   * lately (its record is at most `accessPersistIntervalMs` old) is kept.
   */
  evictsNow(): boolean;
  /**
   * While `evictsNow()` is false: after how many of this process's sweeps in a row without a new
   * mark of the one that evicts (each sweep leaves one in the storage's metadata) this process
   * sweeps in its place, until that one's marks come again. Undefined (or absent): never. Give
   * each process a different count (e.g. by its place in a ranking), so that one stands in.
   */
  standInAfterSweeps?(): number | undefined;
}

/**
 * Content-addressed blob storage. Every blob is verified against its digest before anyone can
 * read it, and a reader never sees a partial blob.
 */
export interface BlobStore {
  /** Size of a stored blob, or undefined. Does not count as an access. */
  stat(digest: string): Promise<BlobStat | undefined>;
  /** A stream of the blob (or of a range of it), or undefined when absent; refreshes its last access. */
  get(
    digest: string,
    range?: ByteRange,
    options?: ReadOptions,
  ): Promise<BlobReadResult | undefined>;
  /**
   * Like `get`, through a reader that fills buffers the caller lends (for servers that reuse
   * their buffers). The blob stays readable until the reader is closed: close it.
   */
  open(digest: string, range?: ByteRange, options?: ReadOptions): Promise<OpenedBlob | undefined>;
  /**
   * Refreshes the blob's last access without reading it, for callers that keep a copy of a
   * small blob in memory; false when the store does not know the blob (it may be evicted).
   */
  touch(digest: string): Promise<boolean>;
  /**
   * Reads `source` to the end, verifies it against `digest` (and `expectedSize`) and commits
   * it atomically. A blob that is already stored is not stored again.
   */
  put(digest: string, source: BlobSource, options?: PutOptions): Promise<PutResult>;
  /**
   * Stores the file at `path` as the blob, verified like `put`. The filesystem store links the
   * file into place instead of copying it when it is on the same filesystem, so storing a
   * downloaded file needs no second copy's worth of space: do not write to the file afterwards.
   * The file is left where it is; the caller removes its name.
   */
  putFile(digest: string, path: string, options?: PutOptions): Promise<PutResult>;
  /**
   * Makes `bytes` free on the store's disk, evicting least recently used blobs that nobody
   * reads or writes (reason `disk-space`); true when there is room. Evicts nothing when even
   * all of that would not make room. An S3 store has no disk to fill: always true.
   */
  makeRoom(bytes: number): Promise<boolean>;
  /** True when the blob was there. */
  delete(digest: string): Promise<boolean>;
  /**
   * Removes the blob unless it is being read or written (then `in-use`, nothing done). Counts as
   * an eviction with reason `manual`: logged and reported to `onEvict`.
   */
  evict(digest: string): Promise<EvictOutcome>;
  /** Size, last access and whether the blob is in use; undefined when not stored. Not an access. */
  inspect(digest: string): Promise<BlobInspection | undefined>;
  /** Every stored digest. */
  list(): AsyncIterable<string>;
  /**
   * Only stores whose backend can hand out URLs (S3; the filesystem store has none): a short-lived
   * URL that lets its holder GET the stored blob directly, without credentials (a presigned S3
   * GET), or undefined when the blob is not stored. Counts as an access. Whoever gets the URL
   * can read the blob until it expires: hand it only to clients allowed to read it.
   */
  presignedUrl?(digest: string, options: PresignOptions): Promise<string | undefined>;
  readonly metadata: MetadataStore;
  usage(): Promise<StoreUsage>;
  /** Deletes blobs unused for longer than the TTL, then enforces the size cap. */
  sweep(): Promise<SweepResult>;
  close(): Promise<void>;
}

/** TTL, size cap and eviction reporting, shared by both backends. */
export interface LifecycleOptions {
  /** Blobs unused for longer than this are deleted by `sweep()`. Default: no TTL. */
  ttlMs?: number;
  /**
   * When usage passes this many bytes, least recently used blobs are evicted (by `sweep()` and
   * right after a `put` that passed it). A blob larger than this is refused with
   * BlobTooLargeError. Default: no cap.
   */
  maxBytes?: number;
  /** Eviction stops at this usage. Default: 90 % of `maxBytes`. */
  lowWaterBytes?: number;
  /** Called once per evicted blob (for metrics). */
  onEvict?: (event: EvictionEvent) => void;
  /**
   * A read refreshes the last access in memory at once; it is written down at most this often
   * per blob (and at close). Default: 60 s.
   */
  accessPersistIntervalMs?: number;
  /** Set when other processes keep the same storage (replicas on one S3 bucket). */
  shared?: SharedStorageOptions;
  /** Where "now" comes from for TTL and last-access times; default `Date.now`. */
  clock?: Clock;
  logger?: Logger;
}
