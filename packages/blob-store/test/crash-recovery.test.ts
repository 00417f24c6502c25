import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { afterAll, describe, expect, it } from "vitest";
import { createFilesystemBlobStore } from "../src/index.js";
import { deterministicDigest } from "./fixtures/deterministic-bytes.js";

const children = new Set<ChildProcess>();
const directories: string[] = [];

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const directory of directories) await removeTempDirectory(directory);
});

/** A new store directory and a child process putting a `size`-byte blob made from `seed`. */
function putInNewStore(seed: string, size: number) {
  const rootDirectory = makeTempDirectory("blob-store-crash-");
  directories.push(rootDirectory);
  const digest = deterministicDigest(seed, size);
  return { rootDirectory, digest, putter: startPutter(rootDirectory, digest, size, seed) };
}

function startPutter(rootDirectory: string, digest: string, size: number, seed: string) {
  // process.execPath is the Node 26 the tests run on; it runs the TypeScript sources as is, and
  // the source condition resolves the workspaces it imports (@regmirror/core) to theirs.
  const child = spawn(
    process.execPath,
    [
      "--conditions=@regmirror/source",
      "--import",
      pathToFileURL(join(import.meta.dirname, "../../test-kit/resolve-typescript.mjs")).href,
      join(import.meta.dirname, "fixtures", "put-blob-child.ts"),
      rootDirectory,
      digest,
      String(size),
      seed,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => {
    child.once("exit", (_code, signal) => {
      children.delete(child);
      resolve(signal);
    });
  });
  return { child, output: () => output, exited };
}

async function pollUntil(what: string, check: () => Promise<boolean>, output: () => string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}; child output:\n${output()}`);
}

async function temporaryBytes(rootDirectory: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(join(rootDirectory, "tmp")).catch(() => [])) {
    total += (await stat(join(rootDirectory, "tmp", name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

describe("crash safety of the filesystem backend (a child process killed with SIGKILL)", () => {
  it("leaves no blob and no temp file when killed in the middle of a large put", async () => {
    const { rootDirectory, digest, putter } = putInNewStore("mid-put", 160 * 1024 * 1024);
    await pollUntil(
      "the temp file to pass 16 MiB",
      async () => (await temporaryBytes(rootDirectory)) > 16 * 1024 * 1024,
      putter.output,
    );
    putter.child.kill("SIGKILL");
    expect(await putter.exited).toBe("SIGKILL");
    expect(putter.output()).not.toContain("committed");
    expect(await temporaryBytes(rootDirectory)).toBeGreaterThan(0);

    const store = await createFilesystemBlobStore({ rootDirectory });
    expect(await readdir(join(rootDirectory, "tmp"))).toEqual([]);
    expect(await store.stat(digest)).toBeUndefined();
    expect(await store.usage()).toEqual({ bytes: 0, blobs: 0 });
    await store.close();
  });

  it("keeps a complete, verified blob when killed right after the put committed", async () => {
    const size = 40 * 1024 * 1024;
    const { rootDirectory, digest, putter } = putInNewStore("after-commit", size);
    await pollUntil(
      "the put to commit",
      async () => putter.output().includes("committed"),
      putter.output,
    );
    // While the child owns the store, another process is refused and told who owns it.
    await expect(createFilesystemBlobStore({ rootDirectory })).rejects.toMatchObject({
      code: "BLOB_STORE_LOCKED",
      holder: { pid: putter.child.pid },
      message: expect.stringContaining(`the store ${rootDirectory} is in use by put-blob-child.ts`),
    });
    putter.child.kill("SIGKILL");
    expect(await putter.exited).toBe("SIGKILL");

    // Its lock is left behind, but its holder is dead: the next process takes the store over.
    const store = await createFilesystemBlobStore({ rootDirectory });
    expect(await readdir(join(rootDirectory, "tmp"))).toEqual([]);
    expect(await store.stat(digest)).toEqual({ digest, size });
    const read = await store.get(digest);
    const hash = createHash("sha256");
    for await (const chunk of read?.body ?? []) hash.update(chunk as Buffer);
    expect(`sha256:${hash.digest("hex")}`).toBe(digest);
    await store.close();
  });
});
