import { readdir, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { afterAll, describe, expect, it } from "vitest";
import { createFilesystemBlobStore } from "../src/index.js";
import { blobOf, describeBlobStoreContract } from "./blob-store-contract.js";

const directories: string[] = [];
function freshDirectory(): string {
  const directory = makeTempDirectory("blob-store-fs-");
  directories.push(directory);
  return directory;
}

afterAll(async () => {
  for (const directory of directories) await removeTempDirectory(directory);
});

describeBlobStoreContract(
  "filesystem",
  async () => {
    const rootDirectory = freshDirectory();
    return { openStore: (options) => createFilesystemBlobStore({ ...options, rootDirectory }) };
  },
  { multipartBlobBytes: 3 * 1024 * 1024 },
);

describe("filesystem backend", () => {
  it("keeps blobs in a sharded layout and nothing in tmp/ after a put", async () => {
    const rootDirectory = freshDirectory();
    const store = await createFilesystemBlobStore({ rootDirectory });
    const blob = blobOf(1234);
    await store.put(blob.digest, Readable.from([blob.bytes]));
    const hex = blob.digest.slice("sha256:".length);
    expect((await stat(join(rootDirectory, "blobs", "sha256", hex.slice(0, 2), hex))).size).toBe(
      1234,
    );
    expect(await readdir(join(rootDirectory, "tmp"))).toEqual([]);
    await store.close();
  });

  it("counts usage in bytes from what is on disk after a restart", async () => {
    const rootDirectory = freshDirectory();
    const first = await createFilesystemBlobStore({ rootDirectory });
    for (const size of [100, 2_000, 30_000]) {
      const blob = blobOf(size);
      await first.put(blob.digest, Readable.from([blob.bytes]));
    }
    await first.close();
    const second = await createFilesystemBlobStore({ rootDirectory });
    expect(await second.usage()).toEqual({ bytes: 32_100, blobs: 3 });
    await second.close();
  });

  it("stores one copy when two stores on one directory put the same digest at once", async () => {
    const rootDirectory = freshDirectory();
    const first = await createFilesystemBlobStore({ rootDirectory });
    const second = await createFilesystemBlobStore({ rootDirectory });
    const blob = blobOf(2 * 1024 * 1024);
    const results = await Promise.all([
      first.put(blob.digest, Readable.from([blob.bytes])),
      second.put(blob.digest, Readable.from([blob.bytes])),
    ]);
    expect(results.map((result) => result.created).sort()).toEqual([false, true]);
    const hex = blob.digest.slice("sha256:".length);
    expect(await readdir(join(rootDirectory, "blobs", "sha256", hex.slice(0, 2)))).toEqual([hex]);
    expect(await readdir(join(rootDirectory, "tmp"))).toEqual([]);
    await first.close();
    await second.close();
  });

  it("fails a read, rather than ending it short, when the blob's file is truncated meanwhile", async () => {
    const rootDirectory = freshDirectory();
    const store = await createFilesystemBlobStore({ rootDirectory });
    const blob = blobOf(100_000);
    await store.put(blob.digest, Readable.from([blob.bytes]));
    const reading = await store.open(blob.digest);
    if (reading === undefined) throw new Error("the blob was just stored");
    const hex = blob.digest.slice("sha256:".length);
    await truncate(join(rootDirectory, "blobs", "sha256", hex.slice(0, 2), hex), 1_000);
    const lent = Buffer.alloc(64 * 1024);
    expect(await reading.reader.read(lent)).toBe(1_000);
    await expect(reading.reader.read(lent)).rejects.toMatchObject({
      code: "BLOB_STORE_SIZE_MISMATCH",
      expectedSize: 100_000,
      actualSize: 1_000,
    });
    await reading.reader.close();
    await store.close();
  });

  it("refuses to work after close", async () => {
    const store = await createFilesystemBlobStore({ rootDirectory: freshDirectory() });
    await store.close();
    await expect(store.stat(blobOf(1).digest)).rejects.toMatchObject({ code: "BLOB_STORE_CLOSED" });
  });

  it("rejects bad lifecycle options with a message naming them", async () => {
    await expect(
      createFilesystemBlobStore({
        rootDirectory: freshDirectory(),
        maxBytes: 100,
        lowWaterBytes: 200,
      }),
    ).rejects.toThrow(/lowWaterBytes \(200\) must not exceed maxBytes \(100\)/);
    await expect(createFilesystemBlobStore({ rootDirectory: "" })).rejects.toMatchObject({
      code: "BLOB_STORE_INVALID_OPTIONS",
    });
  });
});
