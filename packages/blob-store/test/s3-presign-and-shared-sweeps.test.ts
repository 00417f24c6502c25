// S3 presigned blob URLs and replicas sweeping one shared bucket, against a real versitygw.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { computeDigest } from "@regmirror/core";
import { createManualClock } from "@regmirror/core/testing";
import { type S3Server, startS3Server } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BlobStore, createFilesystemBlobStore, createS3BlobStore } from "../src/index.js";
import { blobOf, readAll } from "./blob-store-contract.js";
import { s3StoreOptions } from "./s3-store-options.js";

const bucket = "shared";
let server: S3Server;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(bucket);
});

afterAll(async () => {
  await server?.stop();
});

const storeOptions = (prefix: string) => s3StoreOptions(server, bucket, prefix);

describe("presigned blob URLs (S3)", () => {
  it("gives a URL that serves the blob's exact bytes without credentials", async () => {
    const store = await createS3BlobStore(storeOptions("presign-ok/"));
    const blob = blobOf(70_000);
    await store.put(blob.digest, [blob.bytes]);
    const url = await store.presignedUrl?.(blob.digest, { expiresInSeconds: 60 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/shared\/presign-ok\/blobs\/sha256\//);
    expect(url).toContain("X-Amz-Expires=60");
    // The secret never appears in the URL, only the access key id and a signature.
    expect(url).not.toContain(server.secretAccessKey);
    const response = await fetch(url as string);
    expect(response.status).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(computeDigest(bytes)).toBe(blob.digest);
    await store.close();
  });

  it("gives no URL for a blob that is not stored, and refuses an expiry out of range by name", async () => {
    const store = await createS3BlobStore(storeOptions("presign-absent/"));
    expect(await store.presignedUrl?.(blobOf(10).digest, { expiresInSeconds: 60 })).toBeUndefined();
    for (const expiresInSeconds of [0, -1, 1.5, 7 * 24 * 3600 + 1, Number.NaN]) {
      await expect(
        store.presignedUrl?.(blobOf(10).digest, { expiresInSeconds }),
      ).rejects.toMatchObject({
        code: "BLOB_STORE_INVALID_OPTIONS",
        message: expect.stringContaining("expiresInSeconds must be a whole number of seconds"),
      });
    }
    await expect(
      store.presignedUrl?.("sha256:nothex", { expiresInSeconds: 60 }),
    ).rejects.toMatchObject({ code: "INVALID_DIGEST" });
    await store.close();
  });

  it("counts a handed-out URL as a use: the blob becomes the most recently used", async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const store = await createS3BlobStore({
      ...storeOptions("presign-access/"),
      clock,
      maxBytes: 2500,
      lowWaterBytes: 2000,
    });
    const [first, second] = [blobOf(1000), blobOf(1000)];
    await store.put(first.digest, [first.bytes]);
    clock.advance(1000);
    await store.put(second.digest, [second.bytes]);
    clock.advance(1000);
    await store.presignedUrl?.(first.digest, { expiresInSeconds: 60 });
    const third = blobOf(1000);
    await store.put(third.digest, [third.bytes]);
    // Over the cap: the least recently used is `second`, the one nobody was sent to.
    expect(await store.stat(second.digest)).toBeUndefined();
    expect(await store.stat(first.digest)).toBeDefined();
    await store.close();
  });

  it("a URL whose signature was tampered with, or that expired, is refused by S3 (403)", async () => {
    const store = await createS3BlobStore(storeOptions("presign-bad/"));
    const blob = blobOf(2048);
    await store.put(blob.digest, [blob.bytes]);
    const good = (await store.presignedUrl?.(blob.digest, { expiresInSeconds: 60 })) as string;
    const tampered = new URL(good);
    const signature = tampered.searchParams.get("X-Amz-Signature") as string;
    tampered.searchParams.set(
      "X-Amz-Signature",
      `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`,
    );
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("SignatureDoesNotMatch");
    // Another object under the same signature is refused too: the URL is for that key only.
    const otherKey = good.replace(blob.digest.slice(7), "0".repeat(64));
    expect((await fetch(otherKey)).status).toBe(403);

    const shortLived = (await store.presignedUrl?.(blob.digest, { expiresInSeconds: 1 })) as string;
    // Wait for the state (the URL refused), not for a time: S3 decides when it expired.
    let expired: Response | undefined;
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const response = await fetch(shortLived);
      if (response.status !== 200) {
        expired = response;
        break;
      }
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(expired?.status).toBe(403);
    expect(await expired?.text()).toMatch(/expired/i);
    await store.close();
  });

  it("a filesystem store has no presigned URLs", async () => {
    const rootDirectory = await mkdtemp(join(tmpdir(), "presign-fs-"));
    const store = await createFilesystemBlobStore({ rootDirectory });
    expect(store.presignedUrl).toBeUndefined();
    await store.close();
    await rm(rootDirectory, { recursive: true, force: true });
  });
});

describe("replicas sharing one bucket: only the one whose turn it is evicts", () => {
  it("the sweeping replica counts what the others stored, holds the cap, and keeps what they read lately", async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const prefix = "sweeps/";
    const cap = { maxBytes: 5000, lowWaterBytes: 3000 };
    const sweeper = await createS3BlobStore({
      ...storeOptions(prefix),
      ...cap,
      clock,
      shared: { evictsNow: () => true },
    });
    const other = await createS3BlobStore({
      ...storeOptions(prefix),
      ...cap,
      clock,
      // Every read writes its access record at once, so the sweeper sees it in this test.
      accessPersistIntervalMs: 0,
      shared: { evictsNow: () => false },
    });
    // The other replica stores 8 × 1000 bytes: over the cap, but it is not its turn to evict.
    const blobs = Array.from({ length: 8 }, () => blobOf(1000));
    for (const blob of blobs) {
      await other.put(blob.digest, Readable.from([blob.bytes]));
      clock.advance(1000);
    }
    expect((await other.usage()).bytes).toBe(8000);
    expect((await other.sweep()).skipped).toBe(true);
    const first = blobs[0] as { digest: string; bytes: Buffer };
    expect(await other.stat(first.digest)).toBeDefined();
    // The oldest blob is read on the other replica: its access record moves.
    expect((await readAll(other, first.digest))?.equals(first.bytes)).toBe(true);
    // The record is written in the background: wait until it is there.
    const readAt = String(clock.now());
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if ((await other.metadata.get(`blob-access/${first.digest}`)) === readAt) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // The sweeper had seen none of them; its sweep rescans the bucket and evicts to low water.
    expect((await sweeper.usage()).bytes).toBe(0);
    const { evicted, skipped } = await sweeper.sweep();
    expect(skipped).toBe(false);
    expect(evicted.map((event) => event.reason)).toEqual(Array(5).fill("size-cap"));
    expect(await sweeper.usage()).toEqual({ bytes: 3000, blobs: 3 });
    // Kept: the one read lately on the other replica and the two newest.
    const kept: string[] = [];
    for (const blob of blobs)
      if ((await sweeper.stat(blob.digest)) !== undefined) kept.push(blob.digest);
    expect(kept).toEqual([first.digest, blobs[6]?.digest, blobs[7]?.digest]);
    // The other replica still counts the evicted blobs, but hands out no URL to nothing.
    const evictedDigest = blobs[1]?.digest as string;
    expect(await other.presignedUrl?.(evictedDigest, { expiresInSeconds: 60 })).toBeUndefined();
    // The other replica's view follows when it reads or rescans: what is gone reads as gone.
    expect(await readAll(other, blobs[1]?.digest as string)).toBeUndefined();
    await sweeper.close();
    await other.close();
  });

  it("a blob being read on the other replica while the sweeper evicts it still reads whole", async () => {
    const prefix = "sweeps-mid-read/";
    const sweeper = await createS3BlobStore({
      ...storeOptions(prefix),
      ttlMs: 1,
      shared: { evictsNow: () => true },
    });
    const other = await createS3BlobStore({
      ...storeOptions(prefix),
      shared: { evictsNow: () => false },
    });
    const blob = blobOf(3 * 1024 * 1024);
    await other.put(blob.digest, [blob.bytes]);
    const reading = (await other.get(blob.digest)) as NonNullable<
      Awaited<ReturnType<BlobStore["get"]>>
    >;
    const chunks: Buffer[] = [];
    const firstChunk = await new Promise<Buffer>((resolve) =>
      reading.body.once("data", (chunk: Buffer) => resolve(chunk)),
    );
    chunks.push(firstChunk);
    reading.body.pause();
    // The TTL (1 ms) has passed: the sweeper evicts the blob while the other one reads it.
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await sweeper.sweep()).evicted.map((event) => event.digest)).toEqual([blob.digest]);
    expect(await sweeper.stat(blob.digest)).toBeUndefined();
    for await (const chunk of reading.body) chunks.push(chunk as Buffer);
    expect(computeDigest(Buffer.concat(chunks))).toBe(blob.digest);
    await sweeper.close();
    await other.close();
  });
});
