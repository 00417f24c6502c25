import { mkdir, readdir, readFile, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
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

  it("links a file given to putFile into place: the stored blob is that file, not a copy", async () => {
    const rootDirectory = freshDirectory();
    const store = await createFilesystemBlobStore({ rootDirectory });
    const blob = blobOf(300_000);
    // A download spooled next to the store, as the cache does.
    const spool = join(rootDirectory, "download.spool");
    await writeFile(spool, blob.bytes);
    await store.putFile(blob.digest, spool, { expectedSize: blob.bytes.length });
    const hex = blob.digest.slice("sha256:".length);
    const stored = await stat(join(rootDirectory, "blobs", "sha256", hex.slice(0, 2), hex));
    expect(stored.ino).toBe((await stat(spool)).ino);
    expect(stored.nlink).toBe(2);
    expect(await readdir(join(rootDirectory, "tmp"))).toEqual([]);
    await store.close();
  });

  it("refuses a second store on the same directory, naming the store and its holder, until the first closes", async () => {
    const rootDirectory = freshDirectory();
    const first = await createFilesystemBlobStore({
      rootDirectory,
      owner: "regmirror-cache serve",
    });
    const refused = createFilesystemBlobStore({ rootDirectory, owner: "regmirror-cache warm" });
    await expect(refused).rejects.toMatchObject({
      name: "StoreLockedError",
      code: "BLOB_STORE_LOCKED",
      holder: { pid: process.pid, host: hostname(), owner: "regmirror-cache serve" },
    });
    await expect(refused).rejects.toThrow(
      `the store ${rootDirectory} is in use by regmirror-cache serve (pid ${process.pid} on ${hostname()}`,
    );
    await first.close();
    const second = await createFilesystemBlobStore({ rootDirectory });
    await second.close();
  });

  it("takes over the lock of a holder on another host only once its heartbeat is stale", async () => {
    const rootDirectory = freshDirectory();
    await mkdir(rootDirectory, { recursive: true });
    const lock = join(rootDirectory, "lock");
    const holder = {
      pid: 1,
      host: "other-node.example",
      owner: "regmirror-cache serve",
      since: "2026-01-01T00:00:00.000Z",
      token: "someone-else",
    };
    await writeFile(lock, JSON.stringify(holder));
    await expect(createFilesystemBlobStore({ rootDirectory })).rejects.toThrow(
      /in use by regmirror-cache serve \(pid 1 on other-node\.example.*last heartbeat 0 s ago/,
    );
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(lock, minuteAgo, minuteAgo);
    const store = await createFilesystemBlobStore({ rootDirectory });
    expect(JSON.parse(await readFile(lock, "utf8"))).toMatchObject({ pid: process.pid });
    await store.close();
    await expect(stat(lock)).rejects.toMatchObject({ code: "ENOENT" });
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
      code: "SIZE_MISMATCH",
      expected: 100_000,
      actual: 1_000,
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
