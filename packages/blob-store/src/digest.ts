import { createHash, type Hash } from "node:crypto";
import { InvalidDigestError } from "./errors.js";

/** Digest algorithms the store verifies, with the length of their hex encoding. */
const algorithms = { sha256: 64, sha512: 128 } as const;

export type DigestAlgorithm = keyof typeof algorithms;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** Lower-case hex, as the OCI spec requires for sha256 and sha512. */
  hex: string;
  /** `algorithm:hex`. */
  digest: string;
}

/**
 * Parses an OCI digest the store can verify. Kept here (not imported from oci-distribution)
 * so the store stays usable on its own.
 */
export function parseDigest(digest: string): ParsedDigest {
  if (typeof digest !== "string") {
    throw new InvalidDigestError(String(digest), "a digest is a string");
  }
  const colon = digest.indexOf(":");
  if (colon <= 0) {
    throw new InvalidDigestError(digest, 'expected "algorithm:hex", e.g. "sha256:<64 hex digits>"');
  }
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (!Object.hasOwn(algorithms, algorithm)) {
    throw new InvalidDigestError(digest, `unsupported algorithm "${algorithm}" (sha256, sha512)`);
  }
  const length = algorithms[algorithm as DigestAlgorithm];
  if (hex.length !== length || !/^[0-9a-f]+$/.test(hex)) {
    throw new InvalidDigestError(digest, `${algorithm} needs ${length} lower-case hex digits`);
  }
  return { algorithm: algorithm as DigestAlgorithm, hex, digest };
}

export function isDigest(value: string): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function createDigestHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** The digest of some bytes, e.g. for tests and callers that hold a small blob in memory. */
export function digestOf(
  bytes: Uint8Array | string,
  algorithm: DigestAlgorithm = "sha256",
): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}
