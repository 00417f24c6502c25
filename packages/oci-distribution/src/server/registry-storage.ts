/**
 * What the registry server needs from a backend. The server does the protocol (routing,
 * validation, digests of manifests, pagination, headers); a storage only keeps bytes and
 * names. Any method may be slow (a pull-through backend asks upstream) and may throw a
 * RegistryError, which the server answers as it is (`BLOB_UNKNOWN`, `UNAVAILABLE`, ...).
 */
import type { Readable } from "node:stream";
import type { BlobStat, ByteRange, OpenedBlob } from "@regmirror/core";
import type { Descriptor } from "../model/manifest.js";

/** Passed to every call: the request's abort signal and what a backend may need to authorize. */
export interface StorageRequestContext {
  /** Aborted when the client goes away. A backend may still finish work shared with others. */
  signal: AbortSignal;
  /** The client's `Authorization` header (for backends that check access upstream). */
  authorization?: string;
}

/** A blob's bytes as a stream, for a storage without a reader (the server pipes it). */
export interface StreamedBlob extends BlobStat {
  /** The whole blob, or only the bytes of the range asked for. */
  stream: Readable;
}

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

export interface RegistryStorage {
  /** A read-only backend: every push and delete is answered UNSUPPORTED. */
  readonly readOnly?: boolean;

  // Blobs (content-addressed; a repository only scopes who may see them).
  statBlob(
    repository: string,
    digest: string,
    context: StorageRequestContext,
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
    context: StorageRequestContext,
  ): Promise<OpenedBlob | StreamedBlob | undefined>;
  /** True when the blob was there. */
  deleteBlob?(repository: string, digest: string, context: StorageRequestContext): Promise<boolean>;
  /** Makes a blob of `fromRepository` visible in `repository`; undefined when it cannot. */
  mountBlob?(
    repository: string,
    fromRepository: string,
    digest: string,
    context: StorageRequestContext,
  ): Promise<BlobStat | undefined>;

  // Upload sessions. Ids are the storage's own ([A-Za-z0-9_-], at most 128 characters).
  createUpload?(repository: string, context: StorageRequestContext): Promise<{ id: string }>;
  /** undefined when the session does not exist (or belongs to another repository). */
  uploadStatus?(
    repository: string,
    id: string,
    context: StorageRequestContext,
  ): Promise<UploadSessionStatus | undefined>;
  /**
   * Appends the stream to the session. The server has already checked the offset and caps the
   * stream's length; a stream that fails leaves the session as it was before this call.
   */
  appendUpload?(
    repository: string,
    id: string,
    data: Readable,
    context: StorageRequestContext,
  ): Promise<UploadSessionStatus>;
  /**
   * Ends the session: stores its bytes as blob `digest` when they hash to it, else throws
   * RegistryError DIGEST_INVALID (and keeps nothing).
   */
  completeUpload?(
    repository: string,
    id: string,
    digest: string,
    context: StorageRequestContext,
  ): Promise<BlobStat>;
  cancelUpload?(repository: string, id: string, context: StorageRequestContext): Promise<boolean>;

  // Manifests: `reference` is a tag or a digest; bytes are kept exactly as pushed.
  getManifest(
    repository: string,
    reference: string,
    context: StorageRequestContext,
  ): Promise<StoredManifest | undefined>;
  putManifest?(
    repository: string,
    manifest: ManifestWrite,
    context: StorageRequestContext,
  ): Promise<void>;
  /** Deletes the manifest (and the tags that point at it); true when it was there. */
  deleteManifest?(
    repository: string,
    digest: string,
    context: StorageRequestContext,
  ): Promise<boolean>;
  /** Removes the tag only; true when it was there. */
  deleteTag?(repository: string, tag: string, context: StorageRequestContext): Promise<boolean>;

  // Listing.
  /** The repository's tags in any order; undefined when the repository is unknown. */
  listTags(repository: string, context: StorageRequestContext): Promise<string[] | undefined>;
  /** Every repository; a backend without a catalog leaves this out (UNSUPPORTED). */
  listRepositories?(context: StorageRequestContext): Promise<string[]>;
  /** Descriptors of the manifests whose `subject` is `digest` (the referrers API). */
  listReferrers?(
    repository: string,
    digest: string,
    context: StorageRequestContext,
  ): Promise<Descriptor[]>;
}
