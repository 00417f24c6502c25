// Every error the blob store throws itself: a BlobStoreError with a stable code.
import { brandedError } from "@regmirror/core";

/**
 * Stable codes of the blob store's own errors; documented in the package README. Content that
 * is not what its digest says fails with @regmirror/core's content errors (InvalidDigestError,
 * DigestMismatchError, SizeMismatchError), the same classes the registry client throws.
 */
export type BlobStoreErrorCode =
  | "BLOB_STORE_STORAGE_FULL"
  | "BLOB_STORE_BUCKET_NOT_FOUND"
  | "BLOB_STORE_S3_CREDENTIALS_REJECTED"
  | "BLOB_STORE_RANGE_NOT_SATISFIABLE"
  | "BLOB_STORE_INVALID_METADATA_KEY"
  | "BLOB_STORE_INVALID_OPTIONS"
  | "BLOB_STORE_CLOSED"
  | "BLOB_STORE_BLOB_TOO_LARGE"
  | "BLOB_STORE_LOCKED";

export class BlobStoreError extends brandedError<BlobStoreErrorCode>(
  "@regmirror/blob-store.BlobStoreError",
) {}

export class StorageFullError extends BlobStoreError {
  constructor(where: string, cause: unknown) {
    super("BLOB_STORE_STORAGE_FULL", `no space left on the device holding ${where}`, { cause });
    this.name = "StorageFullError";
  }
}

export class BucketNotFoundError extends BlobStoreError {
  constructor(bucket: string, cause?: unknown) {
    super("BLOB_STORE_BUCKET_NOT_FOUND", `S3 bucket ${JSON.stringify(bucket)} does not exist`, {
      cause,
    });
    this.name = "BucketNotFoundError";
  }
}

export class S3CredentialsRejectedError extends BlobStoreError {
  constructor(bucket: string, cause?: unknown) {
    super(
      "BLOB_STORE_S3_CREDENTIALS_REJECTED",
      `the S3 server rejected the credentials for bucket ${JSON.stringify(bucket)} (wrong access key or secret, or no permission)`,
      { cause },
    );
    this.name = "S3CredentialsRejectedError";
  }
}

export class RangeNotSatisfiableError extends BlobStoreError {
  readonly size: number;

  constructor(digest: string, start: number, size: number) {
    super(
      "BLOB_STORE_RANGE_NOT_SATISFIABLE",
      `blob ${digest} has ${size} bytes; a range starting at byte ${start} is outside it`,
    );
    this.name = "RangeNotSatisfiableError";
    this.size = size;
  }
}

export class InvalidMetadataKeyError extends BlobStoreError {
  constructor(key: string, reason: string) {
    super(
      "BLOB_STORE_INVALID_METADATA_KEY",
      `invalid metadata key ${JSON.stringify(key.slice(0, 200))}: ${reason}`,
    );
    this.name = "InvalidMetadataKeyError";
  }
}

export class InvalidOptionsError extends BlobStoreError {
  constructor(message: string) {
    super("BLOB_STORE_INVALID_OPTIONS", message);
    this.name = "InvalidOptionsError";
  }
}

export class BlobStoreClosedError extends BlobStoreError {
  constructor() {
    super("BLOB_STORE_CLOSED", "the blob store is closed");
    this.name = "BlobStoreClosedError";
  }
}

/** A blob larger than the whole size cap: it could only be kept by evicting everything else. */
export class BlobTooLargeError extends BlobStoreError {
  readonly maxBytes: number;

  constructor(digest: string, maxBytes: number, size?: number) {
    super(
      "BLOB_STORE_BLOB_TOO_LARGE",
      `blob ${digest} is larger than the store's size cap (${size === undefined ? "more than " : `${size} > `}maxBytes ${maxBytes}): not stored`,
    );
    this.name = "BlobTooLargeError";
    this.maxBytes = maxBytes;
  }
}

/** Who holds a filesystem store's lock, as its lock file says. */
export interface StoreLockHolder {
  pid: number;
  host: string;
  owner: string;
  since: string;
}

export class StoreLockedError extends BlobStoreError {
  readonly rootDirectory: string;
  readonly holder: StoreLockHolder;

  constructor(
    rootDirectory: string,
    holder: StoreLockHolder,
    heartbeatAgeMs: number,
    staleAfterMs: number,
  ) {
    super(
      "BLOB_STORE_LOCKED",
      `the store ${rootDirectory} is in use by ${holder.owner} (pid ${holder.pid} on ${holder.host}, since ${holder.since}; last heartbeat ${Math.round(heartbeatAgeMs / 1000)} s ago): one process owns a filesystem store. Stop that process first; if it is gone, its lock expires ${Math.round(staleAfterMs / 1000)} s after its last heartbeat`,
    );
    this.name = "StoreLockedError";
    this.rootDirectory = rootDirectory;
    this.holder = { pid: holder.pid, host: holder.host, owner: holder.owner, since: holder.since };
  }
}
