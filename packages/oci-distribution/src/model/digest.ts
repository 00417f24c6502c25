/**
 * Content digests: parsing, computing and verifying while streaming.
 * Spec: https://github.com/opencontainers/image-spec/blob/v1.1.1/descriptor.md#digests
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

export type DigestAlgorithm = "sha256" | "sha512";

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  encoded: string;
}

/** The registered algorithms and the exact form of their encoded part. */
const encodedPatternByAlgorithm: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

// The general grammar: algorithm ::= component (separator component)*, encoded ::= [a-zA-Z0-9=_-]+
const algorithmPattern = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const encodedPattern = /^[a-zA-Z0-9=_-]+$/;

/** Longer strings are refused before any pattern sees them (sha512 is 135 characters). */
const maximumDigestLength = 256;

/** Why a digest string was refused; `reason` names the wrong part. */
export class InvalidDigestError extends Error {
  override readonly name = "InvalidDigestError";
  readonly code = "INVALID_DIGEST";
  constructor(
    readonly reason: string,
    readonly part: "digest" | "algorithm" | "encoded",
  ) {
    super(`invalid digest: ${reason}`);
  }
}

export function parseDigest(value: string): ParsedDigest {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidDigestError("empty digest", "digest");
  }
  if (value.length > maximumDigestLength) {
    throw new InvalidDigestError("digest is too long", "digest");
  }
  const colon = value.indexOf(":");
  if (colon < 0) throw new InvalidDigestError('missing ":" between algorithm and hex', "digest");
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  if (!algorithmPattern.test(algorithm)) {
    throw new InvalidDigestError("the algorithm is not of the digest grammar", "algorithm");
  }
  if (!encodedPattern.test(encoded)) {
    throw new InvalidDigestError("the encoded part is not of the digest grammar", "encoded");
  }
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new InvalidDigestError("unsupported algorithm (sha256 and sha512 are)", "algorithm");
  }
  if (!encodedPatternByAlgorithm[algorithm].test(encoded)) {
    const length = algorithm === "sha256" ? 64 : 128;
    throw new InvalidDigestError(
      `${algorithm} needs ${length} lowercase hex characters`,
      "encoded",
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

/** An incremental digest: feed chunks, then read `digest()` once. */
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
    digest: () => `${algorithm}:${hash.digest("hex")}`,
    get bytes() {
      return bytes;
    },
  };
}

export class DigestMismatchError extends Error {
  override readonly name = "DigestMismatchError";
  readonly code = "DIGEST_MISMATCH";
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content digest ${actual} does not match the expected ${expected}`);
  }
}

export class LengthMismatchError extends Error {
  override readonly name = "LengthMismatchError";
  readonly code = "LENGTH_MISMATCH";
  constructor(
    readonly expected: number,
    /** Bytes seen so far: more than expected when the content was too long. */
    readonly actual: number,
  ) {
    super(`content length ${actual} does not match the expected ${expected}`);
  }
}

/**
 * A pass-through stream that hashes what flows through it and fails at the end when the
 * digest (or the length) is not the expected one; too much content fails as soon as it shows.
 * Consumers must treat data as unverified until the stream ends without error.
 */
export function createDigestVerifier(expectedDigest: string, expectedLength?: number): Transform {
  const { algorithm } = parseDigest(expectedDigest);
  const digester = createDigester(algorithm);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      digester.update(chunk);
      if (expectedLength !== undefined && digester.bytes > expectedLength) {
        callback(new LengthMismatchError(expectedLength, digester.bytes));
        return;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (expectedLength !== undefined && digester.bytes !== expectedLength) {
        callback(new LengthMismatchError(expectedLength, digester.bytes));
        return;
      }
      const actual = digester.digest();
      if (actual !== expectedDigest) {
        callback(new DigestMismatchError(expectedDigest, actual));
        return;
      }
      callback();
    },
  });
}
