export { type BlobReader, readableFromReader } from "./blob-reader.js";
export type {
  BlobInspection,
  BlobReading,
  BlobReadResult,
  BlobSource,
  BlobStat,
  BlobStore,
  ByteRange,
  Clock,
  EvictionEvent,
  EvictionReason,
  EvictOutcome,
  LifecycleOptions,
  Logger,
  MetadataStore,
  PutOptions,
  PutResult,
  ReadOptions,
  StoreUsage,
  SweepResult,
} from "./blob-store.js";
export { silentLogger, systemClock } from "./blob-store.js";
export {
  createFilesystemBlobStore,
  type FilesystemBlobStoreOptions,
} from "./create-filesystem-blob-store.js";
export { createS3BlobStore, type S3BlobStoreOptions } from "./create-s3-blob-store.js";
export {
  type DigestAlgorithm,
  digestOf,
  isDigest,
  type ParsedDigest,
  parseDigest,
} from "./digest.js";
export * from "./errors.js";
export type { S3CredentialIdentity, S3Credentials } from "./s3/s3-credentials.js";
export { createTagRecords, type TagRecord, type TagRecords } from "./tag-records.js";
