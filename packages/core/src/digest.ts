/**
 * Content digests: parsing, formatting and computing them.
 * Spec: https://github.com/opencontainers/image-spec/blob/v1.1.1/descriptor.md#digests
 * Only the registered algorithms sha256 and sha512 are accepted, with lowercase hex, as the spec
 * requires of them; anything else cannot be verified, so it is refused.
 */
import { createHash, type Hash } from "node:crypto";
import { InvalidDigestError } from "./content-errors.js";

export type DigestAlgorithm = "sha256" | "sha512";

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  encoded: string;
}

/** The length of each algorithm's hex encoding. */
const encodedLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const lowercaseHex = /^[0-9a-f]+$/;

/** Longer strings are refused before anything else looks at them (sha512 is 135 characters). */
const maximumDigestLength = 256;

const form = 'expected "algorithm:hex", e.g. "sha256:<64 hex digits>"';

export function parseDigest(value: string): ParsedDigest {
  if (typeof value !== "string") {
    throw new InvalidDigestError(`a digest is a string, got ${typeof value}`, "digest");
  }
  if (value.length === 0) throw new InvalidDigestError(`empty digest: ${form}`, "digest");
  if (value.length > maximumDigestLength) {
    throw new InvalidDigestError("digest is too long", "digest", value);
  }
  const colon = value.indexOf(":");
  if (colon <= 0) {
    throw new InvalidDigestError(`missing ":" after the algorithm: ${form}`, "digest", value);
  }
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new InvalidDigestError(
      `unsupported algorithm ${JSON.stringify(algorithm.slice(0, 20))} (sha256 and sha512 are)`,
      "algorithm",
      value,
    );
  }
  const length = encodedLength[algorithm];
  if (encoded.length !== length || !lowercaseHex.test(encoded)) {
    throw new InvalidDigestError(
      `${algorithm} needs ${length} lowercase hex digits`,
      "encoded",
      value,
    );
  }
  return { algorithm, encoded };
}

export function isDigest(value: unknown): value is string {
  if (typeof value !== "string") return false;
  // Every tag lookup asks this: answer the common case without building an error.
  if (!value.includes(":")) return false;
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function formatDigest(digest: ParsedDigest): string {
  return `${digest.algorithm}:${digest.encoded}`;
}

/** `sha256:<hex>` of the bytes. */
export function computeDigest(
  bytes: Uint8Array | string,
  algorithm: DigestAlgorithm = "sha256",
): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

/** An incremental digest: feed chunks, then read `digest()` (it may be read more than once). */
export interface Digester {
  update(chunk: Uint8Array): void;
  digest(): string;
  readonly bytes: number;
}

export function createDigester(algorithm: DigestAlgorithm = "sha256"): Digester {
  const hash: Hash = createHash(algorithm);
  let bytes = 0;
  return {
    update(chunk) {
      hash.update(chunk);
      bytes += chunk.byteLength;
    },
    digest: () => `${algorithm}:${hash.copy().digest("hex")}`,
    get bytes() {
      return bytes;
    },
  };
}
