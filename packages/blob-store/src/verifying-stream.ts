import { Transform, type TransformCallback } from "node:stream";
import { createDigestHash, type ParsedDigest } from "./digest.js";
import { DigestMismatchError, SizeMismatchError } from "./errors.js";

/**
 * A pass-through that hashes and counts what flows through it and fails the stream at the end
 * when the digest or the expected size does not match. Too many bytes fail at once, so a
 * backend never writes more than it was promised.
 */
export class VerifyingStream extends Transform {
  readonly #digest: ParsedDigest;
  readonly #expectedSize: number | undefined;
  readonly #hash;
  #size = 0;

  constructor(digest: ParsedDigest, expectedSize?: number) {
    super();
    this.#digest = digest;
    this.#expectedSize = expectedSize;
    this.#hash = createDigestHash(digest.algorithm);
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  override _transform(chunk: unknown, encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, encoding) : (chunk as Buffer);
    this.#size += bytes.length;
    if (this.#expectedSize !== undefined && this.#size > this.#expectedSize) {
      callback(new SizeMismatchError(this.#digest.digest, this.#expectedSize, this.#size, true));
      return;
    }
    this.#hash.update(bytes);
    callback(null, bytes);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.check());
  }

  /** The verdict once all bytes went through: an error, or null when the content is right. */
  check(): Error | null {
    if (this.#expectedSize !== undefined && this.#size !== this.#expectedSize) {
      return new SizeMismatchError(this.#digest.digest, this.#expectedSize, this.#size);
    }
    const actual = `${this.#digest.algorithm}:${this.#hash.copy().digest("hex")}`;
    if (actual !== this.#digest.digest) {
      return new DigestMismatchError(this.#digest.digest, actual);
    }
    return null;
  }
}
