import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { setImmediate as nextTurn } from "node:timers/promises";
import { computeDigest } from "@regmirror/core";
import { createManualClock } from "@regmirror/core/testing";
import { edgeRepositoryNames, repositoryName, tagName } from "@regmirror/test-kit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BlobStore,
  createTagRecords,
  type EvictionEvent,
  type LifecycleOptions,
} from "../src/index.js";

/** One storage location; every `openStore` opens the same data (as a restart would). */
export interface ContractSubject {
  openStore(options?: LifecycleOptions): Promise<BlobStore>;
}

export function blobOf(size: number): { bytes: Buffer; digest: string } {
  const bytes = randomBytes(size);
  return { bytes, digest: computeDigest(bytes) };
}

export async function readAll(store: BlobStore, digest: string): Promise<Buffer | undefined> {
  const result = await store.get(digest);
  return result === undefined ? undefined : await buffer(result.body);
}

async function listAll(store: BlobStore): Promise<string[]> {
  const digests: string[] = [];
  for await (const digest of store.list()) digests.push(digest);
  return digests.sort();
}

async function keysOf(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.metadata.list(prefix)) keys.push(key);
  return keys.sort();
}

/** A clock the test moves by hand, starting at a fixed date. */
export function manualClock(start = Date.UTC(2026, 0, 1)) {
  return createManualClock(start);
}

const hour = 3600_000;

/** The behaviour every backend must show; `makeSubject` gives a fresh, empty location. */
export function describeBlobStoreContract(
  backendName: string,
  makeSubject: () => Promise<ContractSubject>,
  sizes: { multipartBlobBytes: number },
): void {
  async function freshStore(options?: LifecycleOptions) {
    const subject = await makeSubject();
    return { subject, store: await subject.openStore(options) };
  }

  describe(`blob store contract: ${backendName}`, () => {
    it("stores a blob and gives the same bytes back", async () => {
      const { store } = await freshStore();
      const blob = blobOf(100_000);
      const result = await store.put(blob.digest, Readable.from([blob.bytes]), {
        expectedSize: blob.bytes.length,
      });
      expect(result).toEqual({ digest: blob.digest, size: 100_000, created: true });
      expect(await store.stat(blob.digest)).toEqual({ digest: blob.digest, size: 100_000 });
      expect((await readAll(store, blob.digest))?.equals(blob.bytes)).toBe(true);
      expect(await listAll(store)).toEqual([blob.digest]);
      expect(await store.usage()).toEqual({ bytes: 100_000, blobs: 1 });
      await store.close();
    });

    it("takes an array of chunks as the source, and refuses bare bytes or a non-iterable by name", async () => {
      const { store } = await freshStore();
      const blob = blobOf(3_000);
      const chunks = [blob.bytes.subarray(0, 1_000), blob.bytes.subarray(1_000)];
      expect(await store.put(blob.digest, chunks)).toEqual({
        digest: blob.digest,
        size: 3_000,
        created: true,
      });
      expect((await readAll(store, blob.digest))?.equals(blob.bytes)).toBe(true);
      const other = blobOf(10);
      // @ts-expect-error: a Buffer is not a stream of chunks (the types refuse it as well)
      await expect(store.put(other.digest, other.bytes)).rejects.toThrow(
        /a Readable or an \(async\) iterable of byte chunks, got bare bytes \(pass \[bytes\]\)/,
      );
      // @ts-expect-error: nor is a number
      await expect(store.put(other.digest, 42)).rejects.toMatchObject({
        code: "BLOB_STORE_INVALID_OPTIONS",
      });
      expect(await store.stat(other.digest)).toBeUndefined();
      await store.close();
    });

    it("stores a blob larger than one upload part and an empty blob", async () => {
      const { store } = await freshStore();
      const big = blobOf(sizes.multipartBlobBytes);
      const chunks = [];
      for (let offset = 0; offset < big.bytes.length; offset += 64 * 1024) {
        chunks.push(big.bytes.subarray(offset, offset + 64 * 1024));
      }
      await store.put(big.digest, Readable.from(chunks));
      expect((await readAll(store, big.digest))?.equals(big.bytes)).toBe(true);
      const empty = blobOf(0);
      expect((await store.put(empty.digest, Readable.from([]))).size).toBe(0);
      expect((await readAll(store, empty.digest))?.length).toBe(0);
      await store.close();
    });

    it("verifies sha512 digests too", async () => {
      const { store } = await freshStore();
      const bytes = randomBytes(5000);
      const digest = computeDigest(bytes, "sha512");
      await store.put(digest, Readable.from([bytes]));
      expect((await readAll(store, digest))?.equals(bytes)).toBe(true);
      await expect(
        store.put(computeDigest(randomBytes(10), "sha512"), Readable.from([bytes])),
      ).rejects.toMatchObject({ code: "DIGEST_MISMATCH" });
      await store.close();
    });

    it("refuses content that does not match its digest and keeps nothing of it", async () => {
      const { store } = await freshStore();
      const blob = blobOf(sizes.multipartBlobBytes);
      const wrong = computeDigest("something else");
      await expect(store.put(wrong, Readable.from([blob.bytes]))).rejects.toMatchObject({
        code: "DIGEST_MISMATCH",
        expected: wrong,
        actual: blob.digest,
      });
      expect(await store.stat(wrong)).toBeUndefined();
      expect(await store.stat(blob.digest)).toBeUndefined();
      expect(await listAll(store)).toEqual([]);
      expect(await store.usage()).toEqual({ bytes: 0, blobs: 0 });
      await store.close();
    });

    it("refuses a blob of the wrong length, too long or too short", async () => {
      const { store } = await freshStore();
      const blob = blobOf(1000);
      await expect(
        store.put(blob.digest, Readable.from([blob.bytes]), { expectedSize: 999 }),
      ).rejects.toMatchObject({ code: "SIZE_MISMATCH", expected: 999 });
      await expect(
        store.put(blob.digest, Readable.from([blob.bytes]), { expectedSize: 1001 }),
      ).rejects.toMatchObject({ code: "SIZE_MISMATCH", actual: 1000 });
      await expect(
        store.put(blob.digest, Readable.from([blob.bytes]), { expectedSize: -1 }),
      ).rejects.toMatchObject({ code: "BLOB_STORE_INVALID_OPTIONS" });
      expect(await listAll(store)).toEqual([]);
      await store.close();
    });

    it("names an invalid digest in a typed error on every operation", async () => {
      const { store } = await freshStore();
      for (const bad of [
        "sha256:abc",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "nope",
        `sha256:${"A".repeat(64)}`,
      ]) {
        await expect(store.stat(bad)).rejects.toMatchObject({ code: "INVALID_DIGEST" });
        await expect(store.get(bad)).rejects.toMatchObject({ code: "INVALID_DIGEST" });
        await expect(store.delete(bad)).rejects.toMatchObject({
          code: "INVALID_DIGEST",
        });
        await expect(store.put(bad, Readable.from([Buffer.from("x")]))).rejects.toThrow(
          /invalid digest/,
        );
      }
      await store.close();
    });

    it("serves byte ranges and refuses a range outside the blob", async () => {
      const { store } = await freshStore();
      const blob = blobOf(10_000);
      await store.put(blob.digest, Readable.from([blob.bytes]));
      const middle = await store.get(blob.digest, { start: 100, end: 199 });
      expect(middle).toMatchObject({ size: 10_000, start: 100, end: 199 });
      expect(
        (await buffer(middle?.body ?? Readable.from([]))).equals(blob.bytes.subarray(100, 200)),
      ).toBe(true);
      const tail = await store.get(blob.digest, { start: 9_990 });
      expect(tail).toMatchObject({ start: 9_990, end: 9_999 });
      expect(
        (await buffer(tail?.body ?? Readable.from([]))).equals(blob.bytes.subarray(9_990)),
      ).toBe(true);
      const clamped = await store.get(blob.digest, { start: 9_000, end: 20_000 });
      expect(clamped).toMatchObject({ start: 9_000, end: 9_999 });
      await buffer(clamped?.body ?? Readable.from([]));
      await expect(store.get(blob.digest, { start: 10_000 })).rejects.toMatchObject({
        code: "BLOB_STORE_RANGE_NOT_SATISFIABLE",
        size: 10_000,
      });
      await expect(store.get(blob.digest, { start: 5, end: 4 })).rejects.toMatchObject({
        code: "BLOB_STORE_INVALID_OPTIONS",
      });
      await store.close();
    });

    it("reads a blob and a range through a reader into small lent buffers", async () => {
      const { store } = await freshStore();
      const blob = blobOf(100_000);
      await store.put(blob.digest, Readable.from([blob.bytes]));
      const readThrough = async (range?: { start: number; end?: number }) => {
        const reading = await store.open(blob.digest, range);
        if (reading === undefined) throw new Error("the blob was just stored");
        const lent = Buffer.alloc(7_000); // one buffer reused for every read, as a server does
        const parts: Buffer[] = [];
        for (let read = await reading.reader.read(lent); read > 0; ) {
          parts.push(Buffer.from(lent.subarray(0, read)));
          read = await reading.reader.read(lent);
        }
        await reading.reader.close();
        await reading.reader.close(); // closing twice is harmless
        return { ...reading, bytes: Buffer.concat(parts) };
      };
      const whole = await readThrough();
      expect(whole).toMatchObject({ size: 100_000, start: 0, end: 99_999 });
      expect(whole.bytes.equals(blob.bytes)).toBe(true);
      const middle = await readThrough({ start: 50_000, end: 60_000 });
      expect(middle).toMatchObject({ start: 50_000, end: 60_000 });
      expect(middle.bytes.equals(blob.bytes.subarray(50_000, 60_001))).toBe(true);
      expect(await store.open(blobOf(10).digest)).toBeUndefined();
      await expect(store.open(blob.digest, { start: 100_000 })).rejects.toMatchObject({
        code: "BLOB_STORE_RANGE_NOT_SATISFIABLE",
      });
      await store.close();
    });

    it("answers undefined for a missing blob and deletes once", async () => {
      const { store } = await freshStore();
      const blob = blobOf(10);
      expect(await store.stat(blob.digest)).toBeUndefined();
      expect(await store.get(blob.digest)).toBeUndefined();
      expect(await store.delete(blob.digest)).toBe(false);
      await store.put(blob.digest, Readable.from([blob.bytes]));
      expect(await store.delete(blob.digest)).toBe(true);
      expect(await store.delete(blob.digest)).toBe(false);
      expect(await store.get(blob.digest)).toBeUndefined();
      expect(await store.usage()).toEqual({ bytes: 0, blobs: 0 });
      await store.close();
    });

    it("stores a blob once when it is put again, still verifying the second source", async () => {
      const { store } = await freshStore();
      const blob = blobOf(3000);
      await store.put(blob.digest, Readable.from([blob.bytes]));
      expect(await store.put(blob.digest, Readable.from([blob.bytes]))).toMatchObject({
        created: false,
        size: 3000,
      });
      await expect(
        store.put(blob.digest, Readable.from([randomBytes(3000)])),
      ).rejects.toMatchObject({
        code: "DIGEST_MISMATCH",
      });
      expect(await listAll(store)).toEqual([blob.digest]);
      expect(await store.usage()).toEqual({ bytes: 3000, blobs: 1 });
      expect((await readAll(store, blob.digest))?.equals(blob.bytes)).toBe(true);
      await store.close();
    });

    it("stores a file with putFile, verified, and refuses one that does not match", async () => {
      const { store } = await freshStore();
      const directory = await mkdtemp(join(tmpdir(), "blob-store-put-file-"));
      try {
        const blob = blobOf(70_000);
        const path = join(directory, "download");
        await writeFile(path, blob.bytes);
        const result = await store.putFile(blob.digest, path, { expectedSize: 70_000 });
        expect(result).toEqual({ digest: blob.digest, size: 70_000, created: true });
        expect((await readAll(store, blob.digest))?.equals(blob.bytes)).toBe(true);
        expect(await store.putFile(blob.digest, path)).toMatchObject({ created: false });

        const other = blobOf(1_000);
        const wrong = join(directory, "wrong");
        await writeFile(wrong, randomBytes(1_000));
        await expect(store.putFile(other.digest, wrong)).rejects.toMatchObject({
          code: "DIGEST_MISMATCH",
        });
        await expect(
          store.putFile(other.digest, wrong, { expectedSize: 999 }),
        ).rejects.toMatchObject({ code: "SIZE_MISMATCH" });
        expect(await store.stat(other.digest)).toBeUndefined();
        expect(await store.usage()).toEqual({ bytes: 70_000, blobs: 1 });
      } finally {
        await store.close();
        await rm(directory, { recursive: true, force: true });
      }
    });

    it("shows nothing of a blob until its put has committed", async () => {
      const { store } = await freshStore();
      const blob = blobOf(sizes.multipartBlobBytes);
      const source = new PassThrough();
      const putting = store.put(blob.digest, source);
      const half = Math.floor(blob.bytes.length / 2);
      // Write more than a part's worth so a multipart upload is under way.
      await new Promise<void>((resolve) =>
        source.write(blob.bytes.subarray(0, half), () => resolve()),
      );
      for (let turn = 0; turn < 20; turn += 1) await nextTurn();
      expect(await store.stat(blob.digest)).toBeUndefined();
      expect(await store.get(blob.digest)).toBeUndefined();
      expect(await listAll(store)).toEqual([]);
      source.end(blob.bytes.subarray(half));
      await putting;
      expect((await readAll(store, blob.digest))?.equals(blob.bytes)).toBe(true);
      await store.close();
    });

    it("gets 50 concurrent puts and gets of the same and of different digests right", async () => {
      const { store } = await freshStore();
      const shared = blobOf(200_000);
      const distinct = Array.from({ length: 25 }, () => blobOf(50_000));
      const puts = [
        ...Array.from({ length: 25 }, () =>
          store.put(
            shared.digest,
            Readable.from([shared.bytes.subarray(0, 100_000), shared.bytes.subarray(100_000)]),
          ),
        ),
        ...distinct.map((blob) => store.put(blob.digest, Readable.from([blob.bytes]))),
      ];
      const results = await Promise.all(puts);
      expect(
        results.filter((result) => result.digest === shared.digest && result.created),
      ).toHaveLength(1);
      expect(results.filter((result) => result.created)).toHaveLength(26);
      const reads = await Promise.all([
        ...Array.from({ length: 25 }, () => readAll(store, shared.digest)),
        ...distinct.map((blob) => readAll(store, blob.digest)),
      ]);
      for (const bytes of reads.slice(0, 25)) expect(bytes?.equals(shared.bytes)).toBe(true);
      distinct.forEach((blob, index) => {
        expect(reads[25 + index]?.equals(blob.bytes)).toBe(true);
      });
      expect(await store.usage()).toEqual({ bytes: 200_000 + 25 * 50_000, blobs: 26 });
      expect((await listAll(store)).length).toBe(26);
      await store.close();
    });

    it("keeps metadata records: get, put, overwrite, delete, list by prefix", async () => {
      const { subject, store } = await freshStore();
      await store.metadata.put("notes/a", "one");
      await store.metadata.put("notes/a", "two");
      await store.metadata.put("notes/a/b", JSON.stringify({ nested: true }));
      await store.metadata.put("notes/a.b:c", "dots and colons");
      await store.metadata.put("other/x", "x");
      expect(await store.metadata.get("notes/a")).toBe("two");
      expect(JSON.parse((await store.metadata.get("notes/a/b")) ?? "null")).toEqual({
        nested: true,
      });
      expect(await store.metadata.get("notes/missing")).toBeUndefined();
      expect(await keysOf(store, "notes/")).toEqual(["notes/a", "notes/a.b:c", "notes/a/b"]);
      expect(await keysOf(store, "notes/a.")).toEqual(["notes/a.b:c"]);
      expect(await store.metadata.delete("notes/a")).toBe(true);
      expect(await store.metadata.delete("notes/a")).toBe(false);
      await expect(store.metadata.put("bad//key", "x")).rejects.toMatchObject({
        code: "BLOB_STORE_INVALID_METADATA_KEY",
      });
      await expect(store.metadata.get("../escape")).rejects.toMatchObject({
        code: "BLOB_STORE_INVALID_METADATA_KEY",
      });
      await store.close();
      const reopened = await subject.openStore();
      expect(await keysOf(reopened, "notes/")).toEqual(["notes/a.b:c", "notes/a/b"]);
      await reopened.close();
    });

    it("refuses malformed metadata keys, prefixes and ranges with typed errors", async () => {
      const { store } = await freshStore();
      const badKeys = ["lone\uD800surrogate", "a/../b", "a//b", "x".repeat(901)];
      for (const key of badKeys) {
        await expect(store.metadata.put(key, "x")).rejects.toMatchObject({
          code: "BLOB_STORE_INVALID_METADATA_KEY",
        });
        await expect(store.metadata.get(key)).rejects.toMatchObject({
          code: "BLOB_STORE_INVALID_METADATA_KEY",
        });
      }
      for (const prefix of ["lone\uD800", undefined, 5]) {
        await expect(keysOf(store, prefix as string)).rejects.toMatchObject({
          code: "BLOB_STORE_INVALID_METADATA_KEY",
        });
      }
      const blob = blobOf(10);
      await store.put(blob.digest, Readable.from([blob.bytes]));
      await expect(store.get(blob.digest, null as never)).rejects.toMatchObject({
        code: "BLOB_STORE_INVALID_OPTIONS",
      });
      await store.close();
    });

    it("keeps records under path segments too long for one file name (split into pieces)", async () => {
      const { subject, store } = await freshStore();
      const long = "segment.".repeat(40); // 320 characters, 440 once encoded
      const keys = [
        `long/${long}/leaf`,
        `long/${long}`,
        `long/${long}x/y`,
        `long/${"é".repeat(120)}`,
      ];
      for (const [index, key] of keys.entries()) await store.metadata.put(key, String(index));
      for (const [index, key] of keys.entries()) {
        expect(await store.metadata.get(key)).toBe(String(index));
      }
      expect(await keysOf(store, "long/")).toEqual([...keys].sort());
      expect(await keysOf(store, `long/${long}/`)).toEqual([`long/${long}/leaf`]);
      // A prefix that ends inside a long segment, past the first piece.
      expect(await keysOf(store, `long/${long.slice(0, 300)}`)).toEqual(
        [`long/${long}`, `long/${long}/leaf`, `long/${long}x/y`].sort(),
      );
      expect(await store.metadata.delete(`long/${long}`)).toBe(true);
      await store.close();
      const reopened = await subject.openStore();
      expect(await keysOf(reopened, "long/")).toEqual(
        [`long/${long}/leaf`, `long/${long}x/y`, `long/${"é".repeat(120)}`].sort(),
      );
      await reopened.close();
    });

    it("keeps tag records of every valid repository name and tag (components up to 255 characters)", async () => {
      const { store } = await freshStore();
      const tags = createTagRecords(store.metadata);
      const { digest } = blobOf(1);
      const roundTrip = async (repository: string, tag: string) => {
        await tags.put("registry-1.docker.io", repository, tag, { digest, fetchedAt: 7 });
        expect(await tags.get("registry-1.docker.io", repository, tag)).toEqual({
          digest,
          fetchedAt: 7,
        });
        const listed: string[] = [];
        for await (const found of tags.list("registry-1.docker.io", repository)) listed.push(found);
        expect(listed).toContain(tag);
      };
      for (const repository of edgeRepositoryNames) {
        await roundTrip(repository, `a${".".repeat(127)}`);
      }
      await fc.assert(fc.asyncProperty(repositoryName, tagName, roundTrip), { numRuns: 40 });
      await store.close();
    });

    it("refuses tag records that would not read back: bad digest, bad time, bad names", async () => {
      const { store } = await freshStore();
      const tags = createTagRecords(store.metadata);
      const { digest } = blobOf(1);
      const cases: [string, string, string, unknown, string][] = [
        ["docker.io", "library/app", "v1", { digest: "nope", fetchedAt: 1 }, "INVALID_DIGEST"],
        [
          "docker.io",
          "library/app",
          "v1",
          { digest, fetchedAt: Number.NaN },
          "BLOB_STORE_INVALID_OPTIONS",
        ],
        ["docker.io", "library/app", "v1", null, "BLOB_STORE_INVALID_OPTIONS"],
        [
          "docker.io",
          "library/_app",
          "v1",
          { digest, fetchedAt: 1 },
          "BLOB_STORE_INVALID_METADATA_KEY",
        ],
        [
          "docker.io",
          "library/app",
          "a/b",
          { digest, fetchedAt: 1 },
          "BLOB_STORE_INVALID_METADATA_KEY",
        ],
        ["", "library/app", "v1", { digest, fetchedAt: 1 }, "BLOB_STORE_INVALID_METADATA_KEY"],
      ];
      for (const [registry, repository, tag, record, code] of cases) {
        await expect(
          tags.put(registry, repository, tag, record as Parameters<typeof tags.put>[3]),
        ).rejects.toMatchObject({ code });
      }
      expect(await keysOf(store, "tags/")).toEqual([]);
      await store.close();
    });

    it("records tag → digest with the fetch time", async () => {
      const { store } = await freshStore();
      const tags = createTagRecords(store.metadata);
      const digest = computeDigest("manifest");
      await tags.put("registry-1.docker.io", "library/nginx", "1.27", { digest, fetchedAt: 1234 });
      await tags.put("registry-1.docker.io", "library/nginx/sub", "latest", {
        digest,
        fetchedAt: 5,
      });
      expect(await tags.get("registry-1.docker.io", "library/nginx", "1.27")).toEqual({
        digest,
        fetchedAt: 1234,
      });
      const listed: string[] = [];
      for await (const tag of tags.list("registry-1.docker.io", "library/nginx")) listed.push(tag);
      expect(listed).toEqual(["1.27"]);
      await store.close();
    });

    describe("TTL and size cap (controlled clock)", () => {
      it("sweeps blobs unused longer than the TTL, per digest: a layer two repositories share stays while one uses it", async () => {
        const clock = manualClock();
        const evictions: EvictionEvent[] = [];
        const { store } = await freshStore({
          clock,
          ttlMs: 24 * hour,
          onEvict: (event) => evictions.push(event),
        });
        const shared = blobOf(1000); // a base layer of repositories a and b
        const onlyA = blobOf(2000);
        await store.put(shared.digest, Readable.from([shared.bytes]));
        await store.put(onlyA.digest, Readable.from([onlyA.bytes]));
        clock.advance(20 * hour);
        await readAll(store, shared.digest); // repository b pulls its image
        clock.advance(10 * hour);
        const { evicted } = await store.sweep();
        expect(evicted.map((event) => event.digest)).toEqual([onlyA.digest]);
        expect(evicted[0]).toMatchObject({ reason: "ttl", size: 2000, idleMs: 30 * hour });
        expect(evictions).toEqual(evicted);
        expect(await store.stat(onlyA.digest)).toBeUndefined();
        expect((await readAll(store, shared.digest))?.equals(shared.bytes)).toBe(true);
        expect(await store.usage()).toEqual({ bytes: 1000, blobs: 1 });
        await store.close();
      });

      it("evicts least recently used blobs down to the low-water mark when usage passes the cap", async () => {
        const clock = manualClock();
        const evictions: EvictionEvent[] = [];
        const { store } = await freshStore({
          clock,
          maxBytes: 10_000,
          lowWaterBytes: 6_000,
          onEvict: (event) => evictions.push(event),
        });
        const blobs = Array.from({ length: 4 }, () => blobOf(2_500));
        for (const blob of blobs) {
          await store.put(blob.digest, Readable.from([blob.bytes]));
          clock.advance(1000);
        }
        await readAll(store, blobs[0]?.digest ?? ""); // the oldest write is now the newest read
        const fifth = blobOf(2_500);
        await store.put(fifth.digest, Readable.from([fifth.bytes]));
        // 12 500 bytes > 10 000: the least recently used go until usage is <= 6 000.
        expect(evictions.map((event) => event.digest)).toEqual([
          blobs[1]?.digest,
          blobs[2]?.digest,
          blobs[3]?.digest,
        ]);
        expect(evictions.every((event) => event.reason === "size-cap")).toBe(true);
        expect(await store.usage()).toEqual({ bytes: 5_000, blobs: 2 });
        expect(await store.stat(blobs[0]?.digest ?? "")).toBeDefined();
        expect(await store.stat(fifth.digest)).toBeDefined();
        await store.close();
      });

      it("refuses a blob larger than maxBytes (size known or not): nothing stored, nothing evicted", async () => {
        const evictions: EvictionEvent[] = [];
        const { store } = await freshStore({
          maxBytes: 10_000,
          onEvict: (event) => evictions.push(event),
        });
        const small = blobOf(4_000);
        await store.put(small.digest, [small.bytes]);
        const huge = blobOf(12_000);
        await expect(
          store.put(huge.digest, [huge.bytes], { expectedSize: huge.bytes.length }),
        ).rejects.toMatchObject({
          code: "BLOB_STORE_BLOB_TOO_LARGE",
          message: expect.stringContaining("12000 > maxBytes 10000"),
        });
        // Without expectedSize it is found out while streaming, before anything is committed.
        const chunks = [huge.bytes.subarray(0, 6_000), huge.bytes.subarray(6_000)];
        await expect(store.put(huge.digest, Readable.from(chunks))).rejects.toMatchObject({
          code: "BLOB_STORE_BLOB_TOO_LARGE",
        });
        expect(await store.stat(huge.digest)).toBeUndefined();
        expect(await listAll(store)).toEqual([small.digest]);
        expect(evictions).toEqual([]);
        expect(await store.usage()).toEqual({ bytes: 4_000, blobs: 1 });
        await store.close();
      });

      it("never evicts a blob while it is being read, and evicts it once the read is over", async () => {
        const clock = manualClock();
        const { store } = await freshStore({
          clock,
          ttlMs: hour,
          maxBytes: 60_000,
          lowWaterBytes: 30_000,
        });
        const busy = blobOf(40_000);
        await store.put(busy.digest, Readable.from([busy.bytes]));
        const reading = await store.get(busy.digest);
        if (reading === undefined) throw new Error("the blob was just stored");
        clock.advance(5 * hour);
        expect((await store.sweep()).evicted).toEqual([]);
        const other = blobOf(40_000);
        await store.put(other.digest, Readable.from([other.bytes]));
        // Over the cap, but the only older blob is being read: the new one is the one to go later.
        expect(await store.stat(busy.digest)).toBeDefined();
        expect((await buffer(reading.body)).equals(busy.bytes)).toBe(true);
        if (!reading.body.closed) await once(reading.body, "close");
        clock.advance(2 * hour);
        const { evicted } = await store.sweep();
        expect(evicted.map((event) => event.digest).sort()).toEqual(
          [busy.digest, other.digest].sort(),
        );
        await store.close();
      });

      it("touch refreshes a blob's last access without reading it, and is false for an unknown one", async () => {
        const clock = manualClock();
        const { store } = await freshStore({ clock, ttlMs: 24 * hour });
        const kept = blobOf(1000); // a manifest a caller keeps in memory and serves from there
        const idle = blobOf(1000);
        await store.put(kept.digest, Readable.from([kept.bytes]));
        await store.put(idle.digest, Readable.from([idle.bytes]));
        clock.advance(20 * hour);
        expect(await store.touch(kept.digest)).toBe(true);
        clock.advance(10 * hour);
        const { evicted } = await store.sweep();
        expect(evicted.map((event) => event.digest)).toEqual([idle.digest]);
        expect(await store.touch(idle.digest)).toBe(false);
        expect(await store.touch(blobOf(10).digest)).toBe(false);
        await expect(store.touch("sha256:nope")).rejects.toMatchObject({
          code: "INVALID_DIGEST",
        });
        await store.close();
      });

      it("keeps a blob open through a reader from eviction until the reader is closed", async () => {
        const clock = manualClock();
        const { store } = await freshStore({ clock, ttlMs: hour });
        const blob = blobOf(20_000);
        await store.put(blob.digest, Readable.from([blob.bytes]));
        const reading = await store.open(blob.digest);
        if (reading === undefined) throw new Error("the blob was just stored");
        clock.advance(5 * hour);
        expect((await store.sweep()).evicted).toEqual([]);
        const lent = Buffer.alloc(blob.bytes.byteLength);
        expect(await reading.reader.read(lent)).toBeGreaterThan(0);
        await reading.reader.close();
        expect((await store.sweep()).evicted.map((event) => event.digest)).toEqual([blob.digest]);
        await store.close();
      });

      it("evict removes a blob on request, keeps one being read; inspect and reads marked countAsAccess false leave the last access", async () => {
        const clock = manualClock();
        const evictions: EvictionEvent[] = [];
        const { store } = await freshStore({ clock, onEvict: (event) => evictions.push(event) });
        const idle = blobOf(3000);
        const busy = blobOf(5000);
        await store.put(idle.digest, [idle.bytes]);
        await store.put(busy.digest, [busy.bytes]);
        clock.advance(hour);
        const reading = await store.open(busy.digest);
        if (reading === undefined) throw new Error("the blob was just stored");
        expect(await store.inspect(idle.digest)).toEqual({
          digest: idle.digest,
          size: 3000,
          lastAccessAt: clock.now() - hour,
          inUse: false,
        });
        expect(await store.inspect(busy.digest)).toMatchObject({
          lastAccessAt: clock.now(),
          inUse: true,
        });
        // Reading for an inspection does not count as a use.
        const peeked = await store.get(idle.digest, undefined, { countAsAccess: false });
        expect(peeked && (await buffer(peeked.body)).equals(idle.bytes)).toBe(true);
        expect((await store.inspect(idle.digest))?.lastAccessAt).toBe(clock.now() - hour);
        expect(await store.evict(busy.digest)).toBe("in-use");
        expect(await store.evict(idle.digest)).toBe("evicted");
        expect(await store.evict(idle.digest)).toBe("absent");
        expect(await store.inspect(idle.digest)).toBeUndefined();
        expect(evictions).toEqual([
          { digest: idle.digest, size: 3000, reason: "manual", idleMs: hour },
        ]);
        // The blob being read reads to its end, and can go once its reader is closed.
        const lent = Buffer.alloc(busy.bytes.byteLength);
        let read = 0;
        for (let n = 1; n > 0 && read < lent.length; read += n) {
          n = await reading.reader.read(lent.subarray(read));
        }
        expect(lent.equals(busy.bytes)).toBe(true);
        await reading.reader.close();
        expect(await store.evict(busy.digest)).toBe("evicted");
        expect(await store.usage()).toEqual({ bytes: 0, blobs: 0 });
        await expect(store.evict("sha256:nope")).rejects.toMatchObject({
          code: "INVALID_DIGEST",
        });
        await store.close();
      });

      it("keeps the eviction order across a restart", async () => {
        const clock = manualClock();
        const subject = await makeSubject();
        const options = { clock, accessPersistIntervalMs: 0 };
        const first = await subject.openStore(options);
        const older = blobOf(3_000);
        const newer = blobOf(3_000);
        await first.put(older.digest, Readable.from([older.bytes]));
        clock.advance(hour);
        await first.put(newer.digest, Readable.from([newer.bytes]));
        clock.advance(hour);
        await readAll(first, older.digest); // now "older" is the most recently used
        await first.close();
        clock.advance(hour);
        const evictions: EvictionEvent[] = [];
        const second = await subject.openStore({
          ...options,
          maxBytes: 5_000,
          lowWaterBytes: 4_000,
          onEvict: (event) => evictions.push(event),
        });
        expect(await second.usage()).toEqual({ bytes: 6_000, blobs: 2 });
        await second.sweep();
        expect(evictions).toEqual([
          { digest: newer.digest, size: 3_000, reason: "size-cap", idleMs: 2 * hour },
        ]);
        await second.close();
      });
    });
  });
}
