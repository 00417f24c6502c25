// Metadata records as small S3 objects under the store's prefix.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { MetadataStore } from "../blob-store.js";
import { InvalidMetadataKeyError } from "../errors.js";
import { decodeMetadataKey, encodeMetadataKey, encodeMetadataPrefix } from "../metadata-key.js";
import { isMissingObject, mapS3Error } from "./s3-errors.js";

/** S3 refuses longer object keys. */
const maxObjectKeyBytes = 1024;

/** Metadata records as small objects under `<prefix>metadata/`; a PUT replaces one atomically. */
export function createS3Metadata(client: S3Client, bucket: string, prefix: string): MetadataStore {
  const root = `${prefix}metadata/`;
  const keyOf = (key: string) => {
    const objectKey = `${root}${encodeMetadataKey(key)}`;
    if (Buffer.byteLength(objectKey) > maxObjectKeyBytes) {
      throw new InvalidMetadataKeyError(
        key,
        `once encoded it is an S3 key of ${Buffer.byteLength(objectKey)} bytes (at most ${maxObjectKeyBytes})`,
      );
    }
    return objectKey;
  };

  return {
    async get(key) {
      try {
        const response = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: keyOf(key) }),
        );
        return (await response.Body?.transformToString("utf8")) ?? "";
      } catch (error) {
        if (isMissingObject(error)) return undefined;
        throw mapS3Error(error, bucket);
      }
    },
    async put(key, value) {
      if (typeof value !== "string") {
        throw new InvalidMetadataKeyError(key, "the value must be a string (JSON.stringify it)");
      }
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: keyOf(key),
            Body: value,
            ContentType: "text/plain; charset=utf-8",
          }),
        );
      } catch (error) {
        throw mapS3Error(error, bucket);
      }
    },
    async delete(key) {
      const objectKey = keyOf(key);
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }));
      } catch (error) {
        if (isMissingObject(error)) return false;
        throw mapS3Error(error, bucket);
      }
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey }));
        return true;
      } catch (error) {
        throw mapS3Error(error, bucket);
      }
    },
    async *list(prefixOfKeys) {
      try {
        for await (const page of paginateListObjectsV2(
          { client },
          { Bucket: bucket, Prefix: `${root}${encodeMetadataPrefix(prefixOfKeys)}` },
        )) {
          for (const object of page.Contents ?? []) {
            const key = decodeMetadataKey(object.Key?.slice(root.length) ?? "");
            if (key?.startsWith(prefixOfKeys)) yield key;
          }
        }
      } catch (error) {
        throw mapS3Error(error, bucket);
      }
    },
  };
}
