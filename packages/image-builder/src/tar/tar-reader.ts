// Reads the tar archives the image's inputs come in (a Debian package's data, an npm tarball):
// ustar with GNU long names and PAX headers. Hard links become copies of the file they name.
import type { LayerEntry } from "./layer-entry.js";
import { normalizeEntryPath } from "./layer-entry.js";

const blockSize = 512;

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString("utf8");
}

function numberField(header: Buffer, offset: number, length: number): number {
  // GNU base-256 for large values: high bit of the first byte set.
  if ((header[offset] ?? 0) & 0x80) {
    let value = 0;
    for (let index = offset + 1; index < offset + length; index += 1) {
      value = value * 256 + (header[index] ?? 0);
    }
    return value;
  }
  const text = field(header, offset, length).trim();
  return text === "" ? 0 : Number.parseInt(text, 8);
}

function parsePax(body: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number(body.subarray(offset, space).toString("ascii"));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = body.subarray(space + 1, offset + length - 1).toString("utf8");
    const equals = record.indexOf("=");
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    offset += length;
  }
  return records;
}

/** Every entry of an uncompressed tar archive, in archive order. */
export function readTar(archive: Buffer, where: string): LayerEntry[] {
  const entries: LayerEntry[] = [];
  const files = new Map<string, LayerEntry>();
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  while (offset + blockSize <= archive.length) {
    const header = archive.subarray(offset, offset + blockSize);
    if (header.every((byte) => byte === 0)) break;
    const size = numberField(header, 124, 12);
    const typeflag = String.fromCharCode(header[156] ?? 0x30);
    const bodyStart = offset + blockSize;
    const body = archive.subarray(bodyStart, bodyStart + size);
    if (body.length !== size) throw new Error(`${where}: the tar archive is cut short`);
    offset = bodyStart + Math.ceil(size / blockSize) * blockSize;

    if (typeflag === "L") {
      longName = field(body, 0, body.length);
      continue;
    }
    if (typeflag === "K") {
      longLink = field(body, 0, body.length);
      continue;
    }
    if (typeflag === "x") {
      pax = parsePax(body);
      continue;
    }
    if (typeflag === "g") continue;

    const prefix = field(header, 345, 155);
    const shortName = field(header, 0, 100);
    const rawName = pax.path ?? longName ?? (prefix ? `${prefix}/${shortName}` : shortName);
    const linkName = pax.linkpath ?? longLink ?? field(header, 157, 100);
    longName = undefined;
    longLink = undefined;
    pax = {};
    const path = normalizeEntryPath(rawName);
    const common = {
      path,
      mode: numberField(header, 100, 8) & 0o7777,
      uid: numberField(header, 108, 8),
      gid: numberField(header, 116, 8),
    };
    if (typeflag === "0" || typeflag === "\0" || typeflag === "7") {
      const entry: LayerEntry = { ...common, type: "file", content: body };
      entries.push(entry);
      files.set(path, entry);
    } else if (typeflag === "5") {
      entries.push({ ...common, type: "directory" });
    } else if (typeflag === "2") {
      entries.push({ ...common, type: "symlink", linkTarget: linkName });
    } else if (typeflag === "1") {
      const target = files.get(normalizeEntryPath(linkName));
      if (target === undefined)
        throw new Error(`${where}: hard link ${path} to unknown ${linkName}`);
      entries.push({ ...target, ...common, type: "file" });
    } else {
      throw new Error(
        `${where}: unsupported tar entry type ${JSON.stringify(typeflag)} at ${path}`,
      );
    }
  }
  return entries;
}
