/**
 * A pass-through stream that hashes and counts what flows through it and fails at the end when
 * the digest or the expected size does not match. Too many bytes fail as soon as they show, so a
 * writer behind it never writes more than it was promised. Treat what passes as unverified
 * until the stream ends without an error.
 */
import { Transform, type TransformCallback } from "node:stream";
import { DigestMismatchError, SizeMismatchError } from "./content-errors.js";
import { createDigester, type Digester, parseDigest } from "./digest.js";

export class DigestVerifier extends Transform {
  readonly #expectedDigest: string;
  readonly #expectedSize: number | undefined;
  readonly #digester: Digester;

  /** Throws InvalidDigestError when `expectedDigest` is not a digest. */
  constructor(expectedDigest: string, expectedSize?: number) {
    super();
    this.#expectedDigest = expectedDigest;
    this.#expectedSize = expectedSize;
    this.#digester = createDigester(parseDigest(expectedDigest).algorithm);
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#digester.bytes;
  }

  override _transform(chunk: unknown, encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, encoding) : (chunk as Buffer);
    const size = this.#digester.bytes + bytes.byteLength;
    if (this.#expectedSize !== undefined && size > this.#expectedSize) {
      callback(new SizeMismatchError(this.#expectedSize, size, this.#expectedDigest));
      return;
    }
    this.#digester.update(bytes);
    callback(null, bytes);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.check());
  }

  /** The verdict on the bytes seen so far: an error, or null when they are the content. */
  check(): Error | null {
    if (this.#expectedSize !== undefined && this.size !== this.#expectedSize) {
      return new SizeMismatchError(this.#expectedSize, this.size, this.#expectedDigest);
    }
    const actual = this.#digester.digest();
    return actual === this.#expectedDigest
      ? null
      : new DigestMismatchError(this.#expectedDigest, actual);
  }
}

/** A DigestVerifier: `pipeline(source, createDigestVerifier(digest, size), destination)`. */
export function createDigestVerifier(
  expectedDigest: string,
  expectedSize?: number,
): DigestVerifier {
  return new DigestVerifier(expectedDigest, expectedSize);
}
