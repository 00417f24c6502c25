// Content-addressed blob storage. Digests, blobs, the logger and the clock are @regmirror/core's.
export { readableFromReader } from "./blob-reader.js";
export type {
  BlobInspection,
  BlobReadResult,
  BlobSource,
  BlobStore,
  EvictionEvent,
  EvictionReason,
  EvictOutcome,
  LifecycleOptions,
  MetadataStore,
  PresignOptions,
  PutOptions,
  PutResult,
  ReadOptions,
  SharedStorageOptions,
  StoreUsage,
  SweepResult,
} from "./blob-store.js";
export {
  createFilesystemBlobStore,
  type FilesystemBlobStoreOptions,
} from "./create-filesystem-blob-store.js";
export { createS3BlobStore, type S3BlobStoreOptions } from "./create-s3-blob-store.js";
export * from "./errors.js";
export {
  type FilesystemStoreReader,
  openFilesystemStoreReader,
} from "./filesystem/filesystem-store-reader.js";
export type { S3CredentialIdentity, S3Credentials } from "./s3/s3-credentials.js";
export { createTagRecords, type TagRecord, type TagRecords } from "./tag-records.js";
