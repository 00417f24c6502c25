import { InvalidMetadataKeyError } from "./errors.js";

/** Keys are `/`-separated paths of non-empty segments; both backends map them to names. */
export function metadataKeySegments(key: string): string[] {
  if (typeof key !== "string" || key.length === 0) {
    throw new InvalidMetadataKeyError(String(key), "a key is a non-empty string");
  }
  if (key.length > 900) throw new InvalidMetadataKeyError(key, "longer than 900 characters");
  if (!key.isWellFormed()) {
    throw new InvalidMetadataKeyError(key, "it holds a lone UTF-16 surrogate (not valid Unicode)");
  }
  const segments = key.split("/");
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === "..") {
      throw new InvalidMetadataKeyError(key, 'segments must be non-empty and not "." or ".."');
    }
    if (segment.length > 200) {
      throw new InvalidMetadataKeyError(key, "a segment is longer than 200 characters");
    }
    // Every encoded segment becomes a file or directory name (at most 255 bytes) on a filesystem.
    if (encodeKeySegment(segment).length + leafSuffix.length > 255) {
      throw new InvalidMetadataKeyError(key, "a segment is too long once encoded for storage");
    }
  }
  // S3 object keys are at most 1024 bytes, the store's own prefix included.
  if (segments.map(encodeKeySegment).join("/").length > maxEncodedKeyLength) {
    throw new InvalidMetadataKeyError(key, "the key is too long once encoded for storage");
  }
  return segments;
}

const maxEncodedKeyLength = 900;

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

export function encodeKeySegment(segment: string): string {
  return encodeURIComponent(segment).replace(/\./g, "%2E");
}

export function decodeKeySegment(name: string): string {
  return decodeURIComponent(name);
}

/** `a/b.c` → `a/b%2Ec.v`. */
export function encodeMetadataKey(key: string): string {
  return `${metadataKeySegments(key).map(encodeKeySegment).join("/")}${leafSuffix}`;
}

/** The inverse of encodeMetadataKey; undefined for names it did not make. */
export function decodeMetadataKey(path: string): string | undefined {
  if (!path.endsWith(leafSuffix)) return undefined;
  try {
    return path.slice(0, -leafSuffix.length).split("/").map(decodeKeySegment).join("/");
  } catch {
    return undefined;
  }
}

/**
 * Where a listing of `prefix` can start: the encoded complete segments plus the encoded start
 * of the last one (encoding works character by character, so it keeps prefixes).
 */
export function encodeMetadataPrefix(prefix: string): string {
  checkMetadataPrefix(prefix);
  return prefix.split("/").map(encodeKeySegment).join("/");
}
