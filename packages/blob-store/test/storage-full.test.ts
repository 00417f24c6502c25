import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { mountSmallDisk, type SmallDisk } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFilesystemBlobStore } from "../src/index.js";
import { blobOf, manualClock, readAll } from "./blob-store-contract.js";

// A real full disk: a 1 MiB tmpfs (mounting needs root, which the test machines run as).
let disk: SmallDisk;
let mountPoint: string;

beforeAll(() => {
  disk = mountSmallDisk(1024 * 1024, "blob-store-full-");
  mountPoint = disk.path;
});

afterAll(async () => {
  await disk?.remove();
});

describe("a full disk (ENOSPC on a 1 MiB tmpfs)", () => {
  it("fails the put with StorageFullError, keeps nothing partial, and works again once there is room", async () => {
    const rootDirectory = join(mountPoint, "store");
    const store = await createFilesystemBlobStore({ rootDirectory });
    const fits = blobOf(600 * 1024);
    await store.put(fits.digest, Readable.from([fits.bytes]));
    const tooBig = blobOf(600 * 1024);
    await expect(store.put(tooBig.digest, Readable.from([tooBig.bytes]))).rejects.toMatchObject({
      code: "BLOB_STORE_STORAGE_FULL",
      name: "StorageFullError",
    });
    expect(await readdir(join(rootDirectory, "tmp"))).toEqual([]);
    expect(await store.stat(tooBig.digest)).toBeUndefined();
    expect(await store.usage()).toEqual({ bytes: 600 * 1024, blobs: 1 });
    expect((await readAll(store, fits.digest))?.equals(fits.bytes)).toBe(true);

    await store.delete(fits.digest);
    await store.put(tooBig.digest, Readable.from([tooBig.bytes]));
    expect((await readAll(store, tooBig.digest))?.equals(tooBig.bytes)).toBe(true);
    await store.close();
    await rm(rootDirectory, { recursive: true });
  });

  it("stores a downloaded file that fills most of the disk: its size is needed once, not twice", async () => {
    const rootDirectory = join(mountPoint, "once");
    const store = await createFilesystemBlobStore({ rootDirectory });
    const blob = blobOf(700 * 1024);
    const spool = join(rootDirectory, "download.spool");
    await writeFile(spool, blob.bytes);
    await store.putFile(blob.digest, spool, { expectedSize: blob.bytes.length });
    await rm(spool);
    expect((await readAll(store, blob.digest))?.equals(blob.bytes)).toBe(true);
    await store.delete(blob.digest);
    await store.close();
    await rm(rootDirectory, { recursive: true });
  });

  it("makes room by evicting least recently used blobs nobody reads, and evicts nothing when that cannot be enough", async () => {
    const rootDirectory = join(mountPoint, "room");
    const clock = manualClock();
    const evicted: string[] = [];
    const store = await createFilesystemBlobStore({
      rootDirectory,
      clock,
      onEvict: (event) => evicted.push(`${event.digest} ${event.reason}`),
    });
    const [oldest, middle, newest] = [blobOf(250 * 1024), blobOf(250 * 1024), blobOf(250 * 1024)];
    for (const blob of [newest, oldest, middle]) {
      await store.put(blob.digest, Readable.from([blob.bytes]));
      clock.advance(1000);
    }
    // Reading refreshes the access: `newest` was stored first but is the most recently used.
    await readAll(store, newest.digest);
    clock.advance(1000);
    await readAll(store, middle.digest);
    const reading = await store.open(oldest.digest);

    expect(await store.makeRoom(2 * 1024 * 1024)).toBe(false);
    expect(evicted).toEqual([]);

    // Room for 500 KiB: the oldest is in use, so the next least recently used goes first.
    expect(await store.makeRoom(500 * 1024)).toBe(true);
    expect(evicted[0]).toBe(`${newest.digest} disk-space`);
    expect(await store.stat(oldest.digest)).toBeDefined();
    await reading?.reader.close();
    await store.close();
    await rm(rootDirectory, { recursive: true });
  });
});
