// Metadata keys: `/`-separated segments, checked, and encoded so no key is a directory of another.
import { InvalidMetadataKeyError } from "./errors.js";

/** Keys are `/`-separated paths of non-empty segments; both backends map them to names. */
export function metadataKeySegments(key: string): string[] {
  if (typeof key !== "string" || key.length === 0) {
    throw new InvalidMetadataKeyError(String(key), "a key is a non-empty string");
  }
  if (key.length > maxKeyLength) {
    throw new InvalidMetadataKeyError(key, `longer than ${maxKeyLength} characters`);
  }
  if (!key.isWellFormed()) {
    throw new InvalidMetadataKeyError(key, "it holds a lone UTF-16 surrogate (not valid Unicode)");
  }
  const segments = key.split("/");
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === "..") {
      throw new InvalidMetadataKeyError(key, 'segments must be non-empty and not "." or ".."');
    }
  }
  return segments;
}

/** Keys hold repository names (at most 255 characters) and a tag (128) plus a few words. */
const maxKeyLength = 900;

/** Refuses a listing prefix that is not a string of valid Unicode (typed, not a URIError). */
export function checkMetadataPrefix(prefix: string): void {
  if (typeof prefix !== "string") {
    throw new InvalidMetadataKeyError(String(prefix), "a listing prefix is a string");
  }
  if (!prefix.isWellFormed()) {
    throw new InvalidMetadataKeyError(
      prefix,
      "it holds a lone UTF-16 surrogate (not valid Unicode)",
    );
  }
}

// Both backends store a key as a path of encoded segments whose last one ends in ".v".
// Encoded segments never hold a literal ".", so a key "a" (leaf "a.v") and a key "a/b"
// (directory or key prefix "a/") never collide: filesystems and S3 servers on POSIX storage
// cannot have "a" as a file and a directory at once.
export const leafSuffix = ".v";

// A segment whose encoding is longer than a file name allows (a 255-character repository path
// component with dots is 500 bytes encoded) is stored as several pieces, one path component
// each; every piece but the last ends in "+", which encoding never produces ("+" is "%2B").
// Shorter segments are stored exactly as before pieces existed.
const continuationMark = "+";
/** A leaf piece plus ".v", or a continued piece plus "+", stays within a 255-byte file name. */
const maxPieceLength = 253;

export function encodeKeySegment(segment: string): string {
  return encodeURIComponent(segment).replace(/\./g, "%2E");
}

/**
 * An encoded segment as the path components that hold it. Pieces are cut greedily and never
 * inside a `%XX` escape, so the pieces of a segment's beginning are the beginning of its pieces:
 * listings by prefix still find every key.
 */
function piecesOf(encoded: string): string[] {
  if (encoded.length <= maxPieceLength) return [encoded];
  const pieces: string[] = [];
  let start = 0;
  while (encoded.length - start > maxPieceLength) {
    let end = start + maxPieceLength;
    // Back off to the start of an escape that the cut would split.
    if (encoded[end - 1] === "%") end -= 1;
    else if (encoded[end - 2] === "%") end -= 2;
    pieces.push(`${encoded.slice(start, end)}${continuationMark}`);
    start = end;
  }
  pieces.push(encoded.slice(start));
  return pieces;
}

/** The path components that store these key segments (without the leaf suffix). */
export function encodeKeySegments(segments: readonly string[]): string[] {
  return segments.flatMap((segment) => piecesOf(encodeKeySegment(segment)));
}

/** `a/b.c` → `a/b%2Ec.v`. */
export function encodeMetadataKey(key: string): string {
  return `${encodeKeySegments(metadataKeySegments(key)).join("/")}${leafSuffix}`;
}

/** Path components (pieces) back to the key; undefined for names this module did not make. */
export function decodeKeyComponents(components: readonly string[]): string | undefined {
  const segments: string[] = [];
  let pending = "";
  for (const component of components) {
    if (component.endsWith(continuationMark)) {
      pending += component.slice(0, -continuationMark.length);
      continue;
    }
    segments.push(pending + component);
    pending = "";
  }
  if (pending !== "") segments.push(pending);
  try {
    return segments.map((segment) => decodeURIComponent(segment)).join("/");
  } catch {
    return undefined;
  }
}

/** The inverse of encodeMetadataKey; undefined for names it did not make. */
export function decodeMetadataKey(path: string): string | undefined {
  if (!path.endsWith(leafSuffix)) return undefined;
  return decodeKeyComponents(path.slice(0, -leafSuffix.length).split("/"));
}

/**
 * Where a listing of `prefix` can start: the encoded complete segments plus the encoded start
 * of the last one (encoding works character by character, and pieces are cut greedily, so both
 * keep prefixes).
 */
export function encodeMetadataPrefix(prefix: string): string {
  checkMetadataPrefix(prefix);
  return prefix
    .split("/")
    .map((segment) => piecesOf(encodeKeySegment(segment)).join("/"))
    .join("/");
}
