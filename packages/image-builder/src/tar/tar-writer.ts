// A reproducible tar stream: entries sorted by path, parents first, every timestamp the same,
// owners numeric and as given, no user or group names. Long or non-ASCII paths use a PAX header.
import { type LayerEntry, normalizeEntryPath } from "./layer-entry.js";

const blockSize = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function isPortableAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/** ustar splits a long name at a `/` into prefix (<= 155 bytes) and name (<= 100 bytes). */
function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (!isPortableAscii(name)) return undefined;
  if (name.length <= 100) return { prefix: "", name };
  for (let cut = name.lastIndexOf("/"); cut > 0; cut = name.lastIndexOf("/", cut - 1)) {
    const prefix = name.slice(0, cut);
    const rest = name.slice(cut + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0)
      return { prefix, name: rest };
  }
  return undefined;
}

interface HeaderFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}

function headerBlock(fields: HeaderFields): Buffer {
  const header = Buffer.alloc(blockSize);
  header.write(fields.name, 0, 100, "utf8");
  header.write(octal(fields.mode, 8), 100, "ascii");
  header.write(octal(fields.uid, 8), 108, "ascii");
  header.write(octal(fields.gid, 8), 116, "ascii");
  header.write(octal(fields.size, 12), 124, "ascii");
  header.write(octal(fields.mtime, 12), 136, "ascii");
  header.write("        ", 148, "ascii"); // the checksum counts as spaces while it is summed
  header.write(fields.typeflag, 156, "ascii");
  header.write(fields.linkname, 157, 100, "utf8");
  header.write("ustar\0", 257, "ascii");
  header.write("00", 263, "ascii");
  header.write(octal(0, 8), 329, "ascii"); // device major
  header.write(octal(0, 8), 337, "ascii"); // device minor
  header.write(fields.prefix, 345, 155, "utf8");
  let checksum = 0;
  for (const byte of header) checksum += byte;
  header.write(`${checksum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return header;
}

function padding(size: number): Buffer {
  const rest = size % blockSize;
  return Buffer.alloc(rest === 0 ? 0 : blockSize - rest);
}

/** One PAX record: "<length> <key>=<value>\n", where length counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return `${length}${body}`;
}

const typeflags = { file: "0", symlink: "2", directory: "5" } as const;

/** Adds the parent directories an entry list leaves out (0755, root) and sorts by path. */
export function completeAndSort(entries: readonly LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const entry of entries) {
    const path = normalizeEntryPath(entry.path);
    if (path === "") continue;
    const existing = byPath.get(path);
    if (existing !== undefined && !(existing.type === "directory" && entry.type === "directory")) {
      throw new Error(`the layer has two entries for ${path}`);
    }
    byPath.set(path, { ...entry, path });
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split("/");
    for (let depth = 1; depth < parts.length; depth += 1) {
      const parent = parts.slice(0, depth).join("/");
      const existing = byPath.get(parent);
      if (existing === undefined) {
        byPath.set(parent, { path: parent, type: "directory", mode: 0o755, uid: 0, gid: 0 });
      } else if (existing.type !== "directory") {
        throw new Error(`${parent} is a ${existing.type} in the layer but ${path} is under it`);
      }
    }
  }
  return [...byPath.values()].sort((a, b) =>
    Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)),
  );
}

/**
 * The tar archive of `entries` as a sequence of buffers (file contents are not copied).
 * `mtime` (seconds since 1970) is every entry's modification time: SOURCE_DATE_EPOCH.
 */
export function* tarChunks(entries: readonly LayerEntry[], mtime: number): Generator<Buffer> {
  for (const entry of completeAndSort(entries)) {
    const name = entry.type === "directory" ? `${entry.path}/` : entry.path;
    const content = entry.type === "file" ? (entry.content ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const linkname = entry.type === "symlink" ? (entry.linkTarget ?? "") : "";
    if (entry.type === "symlink" && linkname === "")
      throw new Error(`symlink ${name} has no target`);
    const split = splitUstarName(name);
    const linkFits = isPortableAscii(linkname) && linkname.length <= 100;
    if (split === undefined || !linkFits) {
      let records = "";
      if (split === undefined) records += paxRecord("path", name);
      if (!linkFits) records += paxRecord("linkpath", linkname);
      const body = Buffer.from(records, "utf8");
      yield headerBlock({
        name: "PaxHeader",
        prefix: "",
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: body.length,
        mtime,
        typeflag: "x",
        linkname: "",
      });
      yield body;
      yield padding(body.length);
    }
    const shortName = split ?? { prefix: "", name: Buffer.from(name).subarray(0, 100).toString() };
    yield headerBlock({
      ...shortName,
      mode: entry.mode & 0o7777,
      uid: entry.uid,
      gid: entry.gid,
      size: content.length,
      mtime,
      typeflag: typeflags[entry.type],
      linkname: linkFits ? linkname : "",
    });
    if (content.length > 0) {
      yield content;
      yield padding(content.length);
    }
  }
  yield Buffer.alloc(blockSize * 2);
}
