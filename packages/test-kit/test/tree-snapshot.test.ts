import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDirectory, removeTempDirectory, snapshotTree } from "../src/index.js";

describe("snapshotTree", () => {
  const root = makeTempDirectory("tree-snapshot-");
  afterAll(async () => {
    await removeTempDirectory(root);
  });

  it("lists every entry by relative path and changes when content, mode or a link changes", async () => {
    await mkdir(join(root, "etc/app"), { recursive: true });
    await writeFile(join(root, "etc/app/config.toml"), "a = 1\n", { mode: 0o644 });
    await symlink("config.toml", join(root, "etc/app/current"));
    const before = await snapshotTree(root);
    expect(Object.keys(before)).toEqual([
      "etc",
      "etc/app",
      "etc/app/config.toml",
      "etc/app/current",
    ]);
    expect(before["etc/app/current"]).toBe("symlink config.toml");
    expect(await snapshotTree(root)).toEqual(before);

    await chmod(join(root, "etc/app/config.toml"), 0o600);
    const chmodded = await snapshotTree(root);
    expect(chmodded["etc/app/config.toml"]).not.toBe(before["etc/app/config.toml"]);

    await chmod(join(root, "etc/app/config.toml"), 0o644);
    await writeFile(join(root, "etc/app/config.toml"), "a = 2\n");
    expect((await snapshotTree(root))["etc/app/config.toml"]).not.toBe(
      before["etc/app/config.toml"],
    );
  });
});
