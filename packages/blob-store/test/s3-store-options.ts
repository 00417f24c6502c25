// The options of a store in a bucket of the kit's S3 server (versitygw), under a key prefix.
import type { S3Server } from "@regmirror/test-kit";
import type { S3BlobStoreOptions } from "../src/index.js";

export function s3StoreOptions(
  server: S3Server,
  bucket: string,
  prefix: string,
): S3BlobStoreOptions {
  return {
    bucket,
    prefix,
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  };
}
