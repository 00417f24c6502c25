// The layer tar: what GNU tar reads back from it, that equal entries give equal bytes whatever
// their order, and that bad entry lists are refused with the path named.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { directoryEntry, fileEntry, type LayerEntry, symlinkEntry } from "./layer-entry.js";
import { readTar } from "./tar-reader.js";
import { completeAndSort, tarChunks } from "./tar-writer.js";

const epoch = 1_700_000_000;
const longDirectory = `usr/share/${"deep-directory-name/".repeat(8)}`;

const entries: LayerEntry[] = [
  fileEntry("usr/local/bin/node", Buffer.from("#!not really node\n"), 0o755),
  directoryEntry("tmp", 0o1777),
  directoryEntry("home/nonroot", 0o700, 65532),
  symlinkEntry("lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
  fileEntry(`${longDirectory}a-file-past-one-hundred-characters.txt`, "long\n"),
  fileEntry(`usr/share/${"x".repeat(120)}.txt`, "one long name with no slash to split at\n"),
  fileEntry("usr/share/doc/naïve/copyright", "not ASCII\n"),
];

function tarBytes(list: readonly LayerEntry[], mtime = epoch): Buffer {
  return Buffer.concat([...tarChunks(list, mtime)]);
}

/** `tar -tv` by GNU tar: "mode uid/gid size date time name[ -> target]" per entry. */
function gnuTarListing(archive: Buffer): string[] {
  const listing = execFileSync("tar", ["--numeric-owner", "--full-time", "-tvf", "-"], {
    input: archive,
    env: { ...process.env, TZ: "UTC", LC_ALL: "C.UTF-8" },
  }).toString("utf8");
  return listing
    .trim()
    .split("\n")
    .map((line) => line.replace(/\s+/g, " "));
}

describe("tarChunks", () => {
  it("writes a tar GNU tar reads back: names (PAX for long or non-ASCII ones), modes, owners, links, one date", () => {
    const listing = gnuTarListing(tarBytes(entries));
    expect(listing).toContain("-rwxr-xr-x 0/0 18 2023-11-14 22:13:20 usr/local/bin/node");
    expect(listing).toContain("drwxrwxrwt 0/0 0 2023-11-14 22:13:20 tmp/");
    expect(listing).toContain("drwx------ 65532/65532 0 2023-11-14 22:13:20 home/nonroot/");
    expect(listing).toContain(
      "lrwxrwxrwx 0/0 0 2023-11-14 22:13:20 lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    );
    expect(listing).toContain(
      `-rw-r--r-- 0/0 5 2023-11-14 22:13:20 ${longDirectory}a-file-past-one-hundred-characters.txt`,
    );
    expect(listing).toContain(
      `-rw-r--r-- 0/0 40 2023-11-14 22:13:20 usr/share/${"x".repeat(120)}.txt`,
    );
    expect(listing).toContain(
      "-rw-r--r-- 0/0 10 2023-11-14 22:13:20 usr/share/doc/naïve/copyright",
    );
    // Parents come first, made 0755 root when the list leaves them out.
    expect(listing.indexOf("drwxr-xr-x 0/0 0 2023-11-14 22:13:20 usr/local/bin/")).toBeLessThan(
      listing.findIndex((line) => line.endsWith("usr/local/bin/node")),
    );
  });

  it("is read back by the builder's own reader entry for entry", () => {
    const read = new Map(readTar(tarBytes(entries), "test").map((entry) => [entry.path, entry]));
    for (const entry of entries) {
      expect(read.get(entry.path), entry.path).toEqual(entry);
    }
  });

  it("gives the same bytes for the same entries in any order, and other bytes for another date", () => {
    const reversed = [...entries].reverse();
    expect(tarBytes(reversed).equals(tarBytes(entries))).toBe(true);
    expect(tarBytes(entries, epoch + 1).equals(tarBytes(entries))).toBe(false);
  });

  it("refuses two entries for one path, a path under a file, and paths that climb out", () => {
    expect(() =>
      completeAndSort([fileEntry("etc/passwd", "a"), fileEntry("etc/passwd", "b")]),
    ).toThrow("the layer has two entries for etc/passwd");
    expect(() => completeAndSort([fileEntry("etc", "a"), fileEntry("etc/passwd", "b")])).toThrow(
      "etc is a file in the layer but etc/passwd is under it",
    );
    expect(() => completeAndSort([fileEntry("../etc/passwd", "a")])).toThrow(
      "layer path climbs out of the root: ../etc/passwd",
    );
  });
});
