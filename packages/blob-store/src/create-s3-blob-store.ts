// createS3BlobStore: the managed store over an S3 bucket (the AWS SDK loaded only here).
import { silentLogger, systemClock } from "@regmirror/core";
import type { BlobStore, LifecycleOptions } from "./blob-store.js";
import { createManagedBlobStore } from "./managed-blob-store.js";
import type { S3BackendOptions } from "./s3/s3-backend.js";

export interface S3BlobStoreOptions extends LifecycleOptions, S3BackendOptions {}

/**
 * A blob store in an S3 bucket. Fails at start with BucketNotFoundError or
 * S3CredentialsRejectedError when the bucket or the credentials are wrong.
 */
export async function createS3BlobStore(options: S3BlobStoreOptions): Promise<BlobStore> {
  // The AWS SDK is loaded only by those who use S3: it cost ~9 MB of memory in every process.
  const { openS3Backend } = await import("./s3/s3-backend.js");
  const backend = await openS3Backend(
    options,
    options.clock ?? systemClock,
    options.logger ?? silentLogger,
  );
  try {
    return await createManagedBlobStore(backend, options);
  } catch (error) {
    await backend.close();
    throw error;
  }
}
