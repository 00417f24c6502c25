import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { PassThrough, Readable } from "node:stream";
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { computeDigest, systemClock } from "@regmirror/core";
import { type S3Server, startS3Server } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3BlobStore, type S3BlobStoreOptions } from "../src/index.js";
import { blobOf, describeBlobStoreContract, readAll } from "./blob-store-contract.js";
import { s3StoreOptions } from "./s3-store-options.js";

const partSizeBytes = 5 * 1024 * 1024;
const bucket = "blobs";
let server: S3Server;
let client: S3Client;
let subjects = 0;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(bucket);
  client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

function storeOptions(prefix: string): S3BlobStoreOptions {
  return { ...s3StoreOptions(server, bucket, prefix), partSizeBytes };
}

describeBlobStoreContract(
  "S3 (versitygw on loopback)",
  async () => {
    // Each subject is a fresh key prefix in the shared bucket.
    subjects += 1;
    const prefix = `subject-${subjects}/`;
    return { openStore: (options) => createS3BlobStore({ ...storeOptions(prefix), ...options }) };
  },
  { multipartBlobBytes: 2 * partSizeBytes + 12_345 },
);

async function keysUnder(prefix: string): Promise<string[]> {
  const response = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (response.Contents ?? []).map((object) => object.Key ?? "");
}

async function uploadsUnder(prefix: string): Promise<string[]> {
  const response = await client.send(
    new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }),
  );
  return (response.Uploads ?? []).map((upload) => upload.Key ?? "");
}

describe("S3 backend", () => {
  it("refuses a metadata key longer than S3 allows once encoded, naming the limit", async () => {
    const store = await createS3BlobStore(storeOptions("long-keys/"));
    // 800 characters, 1,400 bytes once percent-encoded: fine on a filesystem, not an S3 key.
    const key = `notes/${"é".repeat(230)}/${".".repeat(300)}`;
    await expect(store.metadata.put(key, "x")).rejects.toMatchObject({
      code: "BLOB_STORE_INVALID_METADATA_KEY",
      message: expect.stringContaining("(at most 1024)"),
    });
    await store.close();
  });

  it("names a missing bucket in a typed error at start", async () => {
    await expect(
      createS3BlobStore({ ...storeOptions("x/"), bucket: "no-such-bucket" }),
    ).rejects.toMatchObject({ code: "BLOB_STORE_BUCKET_NOT_FOUND" });
  });

  it("says the credentials were rejected, without the secret, at start", async () => {
    const secretAccessKey = `wrong-${randomBytes(8).toString("hex")}`;
    const attempt = createS3BlobStore({
      ...storeOptions("x/"),
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey },
    });
    await expect(attempt).rejects.toMatchObject({ code: "BLOB_STORE_S3_CREDENTIALS_REJECTED" });
    const error = (await attempt.catch((caught: unknown) => caught)) as Error;
    expect(`${error.message} ${String(error.stack)}`).not.toContain(secretAccessKey);
    await expect(
      createS3BlobStore({
        ...storeOptions("x/"),
        credentials: { accessKeyId: "unknown-key", secretAccessKey },
      }),
    ).rejects.toMatchObject({ code: "BLOB_STORE_S3_CREDENTIALS_REJECTED" });
  });

  it("keeps a multipart upload invisible under the final key until it is verified, and aborts it on a mismatch", async () => {
    const prefix = "multipart-mismatch/";
    const store = await createS3BlobStore(storeOptions(prefix));
    const bytes = randomBytes(3 * partSizeBytes);
    const claimed = computeDigest("not these bytes");
    const source = new PassThrough();
    const putting = store.put(claimed, source);
    const failed = putting.catch((error: unknown) => error);
    await new Promise<void>((resolve) =>
      source.write(bytes.subarray(0, 2 * partSizeBytes + 1), () => resolve()),
    );
    // Parts are going up, yet no object exists under the blob's key.
    for (
      let attempt = 0;
      attempt < 200 && (await uploadsUnder(prefix)).length === 0;
      attempt += 1
    ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await uploadsUnder(prefix)).toEqual([`${prefix}blobs/sha256/${claimed.slice(7)}`]);
    expect(await keysUnder(`${prefix}blobs/`)).toEqual([]);
    source.end(bytes.subarray(2 * partSizeBytes + 1));
    expect(await failed).toMatchObject({ code: "DIGEST_MISMATCH" });
    expect(await keysUnder(`${prefix}blobs/`)).toEqual([]);
    expect(await uploadsUnder(prefix)).toEqual([]);
    await store.close();
  });

  it("aborts unfinished uploads of a crashed writer at start-up once they are stale", async () => {
    const prefix = "stale-upload/";
    const store = await createS3BlobStore(storeOptions(prefix));
    const blob = blobOf(2 * partSizeBytes);
    const source = new PassThrough();
    const putting = store.put(blob.digest, source).catch((error: unknown) => error);
    await new Promise<void>((resolve) =>
      source.write(blob.bytes.subarray(0, partSizeBytes + 10), () => resolve()),
    );
    for (
      let attempt = 0;
      attempt < 200 && (await uploadsUnder(prefix)).length === 0;
      attempt += 1
    ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect((await uploadsUnder(prefix)).length).toBe(1);
    // A fresh upload may belong to a live replica: it survives a start-up...
    const other = await createS3BlobStore(storeOptions(prefix));
    await other.close();
    expect((await uploadsUnder(prefix)).length).toBe(1);
    // ...and is aborted once it is older than staleUploadAgeMs.
    const later = await createS3BlobStore({
      ...storeOptions(prefix),
      clock: { ...systemClock, now: () => Date.now() + 25 * 3600_000 },
    });
    expect(await uploadsUnder(prefix)).toEqual([]);
    source.destroy(new Error("the writer went away"));
    await putting;
    expect(await later.stat(blob.digest)).toBeUndefined();
    await later.close();
    await store.close();
  });

  it("reads blobs another replica wrote into the same bucket", async () => {
    const prefix = "shared-bucket/";
    const writer = await createS3BlobStore(storeOptions(prefix));
    const reader = await createS3BlobStore(storeOptions(prefix));
    const blob = blobOf(4096);
    await writer.put(blob.digest, Readable.from([blob.bytes]));
    expect((await readAll(reader, blob.digest))?.equals(blob.bytes)).toBe(true);
    expect(await reader.usage()).toEqual({ bytes: 4096, blobs: 1 });
    await writer.close();
    await reader.close();
  });

  it("stores objects in the server's directory under the bucket (the data really is on the server)", async () => {
    const prefix = "on-disk/";
    const store = await createS3BlobStore(storeOptions(prefix));
    const blob = blobOf(100);
    await store.put(blob.digest, Readable.from([blob.bytes]));
    expect(await readdir(`${server.rootDirectory}/${bucket}/${prefix}blobs/sha256`)).toEqual([
      blob.digest.slice(7),
    ]);
    await store.close();
  });
});
