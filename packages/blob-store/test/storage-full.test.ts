import { execFileSync } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFilesystemBlobStore } from "../src/index.js";
import { blobOf, readAll } from "./blob-store-contract.js";

// A real full disk: a 1 MiB tmpfs (mounting needs root, which the test machines run as).
let mountPoint: string;

beforeAll(() => {
  mountPoint = makeTempDirectory("blob-store-full-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint], { stdio: "pipe" });
  } catch (error) {
    throw new Error(
      `this test needs a 1 MiB tmpfs and so runs as root (mount -t tmpfs): ${String((error as { stderr?: Buffer }).stderr ?? error)}`,
    );
  }
});

afterAll(async () => {
  if (mountPoint === undefined) return;
  try {
    execFileSync("umount", [mountPoint], { stdio: "pipe" });
  } finally {
    await removeTempDirectory(mountPoint);
  }
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
  });
});
