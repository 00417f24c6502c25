/**
 * What the registry server needs from a backend. The server does the protocol (routing,
 * validation, digests of manifests, pagination, headers); a storage only keeps bytes and
 * names. Any method may be slow (a pull-through backend asks upstream) and may throw a
 * RegistryError, which the server answers as it is (`BLOB_UNKNOWN`, `UNAVAILABLE`, ...).
 */
import type { Readable } from "node:stream";
import type { BlobStat, ByteRange, OpenedBlob } from "@regmirror/core";
import type { Descriptor } from "../model/manifest.js";

/**
 * Passed to every call: the request's abort signal, what a backend may need to authorize, and
 * what the handler's `resolveRoute` stage worked out for the backend (`Routed`, its own type).
 */
export interface StorageRequestContext<Routed = unknown> {
  /** Aborted when the client goes away. A backend may still finish work shared with others. */
  signal: AbortSignal;
  /** The client's `Authorization` header (for backends that check access upstream). */
  authorization?: string;
  /**
   * Set by the `resolveRoute` stage for this request (e.g. which upstream serves the
   * repository), so the backend need not work it out again; undefined when the stage set none.
   */
  routed?: Routed;
}

/** A blob's bytes as a stream, for a storage without a reader (the server pipes it). */
export interface StreamedBlob extends BlobStat {
  /** The whole blob, or only the bytes of the range asked for. */
  stream: Readable;
}

/**
 * An opened blob whose bytes (`start` to `end`) are already in memory: the server sends them in
 * one write instead of reading them through `reader` (which still works, for other callers).
 */
export interface BufferedBlob extends OpenedBlob {
  bytes: Uint8Array;
}

export function isBufferedBlob(blob: OpenedBlob | StreamedBlob): blob is BufferedBlob {
  return "bytes" in blob && blob.bytes instanceof Uint8Array;
}

/**
 * A manifest as a storage returns it. A storage may return the same object again (one kept in
 * memory); the server then reuses the answer headers it made from it, so an object once handed
 * out is never changed.
 */
export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
}

export interface ManifestWrite extends StoredManifest {
  /** Set when the manifest is pushed by tag: the tag then points at `digest`. */
  tag?: string;
  /** Set when the manifest has a `subject`: list `descriptor` among the subject's referrers. */
  referrer?: { subject: string; descriptor: Descriptor };
}

export interface UploadSessionStatus {
  /** Bytes received so far. */
  size: number;
}

/** `Routed`: what the handler's `resolveRoute` stage hands the backend (see StorageRequestContext). */
export interface RegistryStorage<Routed = unknown> {
  /** A read-only backend: every push and delete is answered UNSUPPORTED. */
  readonly readOnly?: boolean;

  // Blobs (content-addressed; a repository only scopes who may see them).
  statBlob(
    repository: string,
    digest: string,
    context: StorageRequestContext<Routed>,
  ): Promise<BlobStat | undefined>;
  /**
   * The blob, or the inclusive `range` of it (the server always gives `end`), through a reader
   * (which lets the server reuse its buffers) or as a stream; undefined when the repository has
   * no such blob.
   */
  openBlob(
    repository: string,
    digest: string,
    range: ByteRange | undefined,
    context: StorageRequestContext<Routed>,
  ): Promise<OpenedBlob | StreamedBlob | undefined>;
  /**
   * Where a client may GET the whole blob instead (e.g. a presigned URL of a storage bucket):
   * the server then answers 307 to it. Undefined, or a storage without this method: the server
   * sends the bytes. Asked only for a GET without Range, after the request was authorized.
   */
  blobRedirect?(
    repository: string,
    digest: string,
    context: StorageRequestContext<Routed>,
  ): Promise<string | undefined>;
  /** True when the blob was there. */
  deleteBlob?(
    repository: string,
    digest: string,
    context: StorageRequestContext<Routed>,
  ): Promise<boolean>;
  /** Makes a blob of `fromRepository` visible in `repository`; undefined when it cannot. */
  mountBlob?(
    repository: string,
    fromRepository: string,
    digest: string,
    context: StorageRequestContext<Routed>,
  ): Promise<BlobStat | undefined>;

  // Upload sessions. Ids are the storage's own ([A-Za-z0-9_-], at most 128 characters).
  createUpload?(
    repository: string,
    context: StorageRequestContext<Routed>,
  ): Promise<{ id: string }>;
  /** undefined when the session does not exist (or belongs to another repository). */
  uploadStatus?(
    repository: string,
    id: string,
    context: StorageRequestContext<Routed>,
  ): Promise<UploadSessionStatus | undefined>;
  /**
   * Appends the stream to the session. The server has already checked the offset and caps the
   * stream's length; a stream that fails leaves the session as it was before this call.
   */
  appendUpload?(
    repository: string,
    id: string,
    data: Readable,
    context: StorageRequestContext<Routed>,
  ): Promise<UploadSessionStatus>;
  /**
   * Ends the session: stores its bytes as blob `digest` when they hash to it, else throws
   * RegistryError DIGEST_INVALID (and keeps nothing).
   */
  completeUpload?(
    repository: string,
    id: string,
    digest: string,
    context: StorageRequestContext<Routed>,
  ): Promise<BlobStat>;
  cancelUpload?(
    repository: string,
    id: string,
    context: StorageRequestContext<Routed>,
  ): Promise<boolean>;

  // Manifests: `reference` is a tag or a digest; bytes are kept exactly as pushed.
  getManifest(
    repository: string,
    reference: string,
    context: StorageRequestContext<Routed>,
  ): Promise<StoredManifest | undefined>;
  putManifest?(
    repository: string,
    manifest: ManifestWrite,
    context: StorageRequestContext<Routed>,
  ): Promise<void>;
  /** Deletes the manifest (and the tags that point at it); true when it was there. */
  deleteManifest?(
    repository: string,
    digest: string,
    context: StorageRequestContext<Routed>,
  ): Promise<boolean>;
  /** Removes the tag only; true when it was there. */
  deleteTag?(
    repository: string,
    tag: string,
    context: StorageRequestContext<Routed>,
  ): Promise<boolean>;

  // Listing.
  /** The repository's tags in any order; undefined when the repository is unknown. */
  listTags(
    repository: string,
    context: StorageRequestContext<Routed>,
  ): Promise<string[] | undefined>;
  /** Every repository; a backend without a catalog leaves this out (UNSUPPORTED). */
  listRepositories?(context: StorageRequestContext<Routed>): Promise<string[]>;
  /** Descriptors of the manifests whose `subject` is `digest` (the referrers API). */
  listReferrers?(
    repository: string,
    digest: string,
    context: StorageRequestContext<Routed>,
  ): Promise<Descriptor[]>;
}
