// One file system entry of an image layer, as the builder assembles it before writing a tar.

export interface LayerEntry {
  /** Relative path without a leading `/` or `./` and without a trailing `/`: `usr/local/bin/node`. */
  path: string;
  type: "file" | "directory" | "symlink";
  /** Permission bits (with setuid/setgid/sticky), e.g. 0o755 or 0o1777. */
  mode: number;
  uid: number;
  gid: number;
  /** A file's bytes. */
  content?: Buffer;
  /** A symlink's target. */
  linkTarget?: string;
}

export function directoryEntry(path: string, mode = 0o755, owner = 0): LayerEntry {
  return { path, type: "directory", mode, uid: owner, gid: owner };
}

export function fileEntry(path: string, content: Buffer | string, mode = 0o644): LayerEntry {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  return { path, type: "file", mode, uid: 0, gid: 0, content: bytes };
}

export function symlinkEntry(path: string, linkTarget: string): LayerEntry {
  return { path, type: "symlink", mode: 0o777, uid: 0, gid: 0, linkTarget };
}

/** `./usr/lib/` → `usr/lib`; refuses absolute paths that climb out (`..`). */
export function normalizeEntryPath(path: string): string {
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw new Error(`layer path climbs out of the root: ${path}`);
  return parts.join("/");
}
