/**
 * What goes wrong with content addressed by digest: a digest that is not one, and bytes that do
 * not match the digest or the size they were promised. The blob store, the registry client and
 * the cache throw these same classes.
 */
import { brandedError } from "./error-brand.js";

export type ContentErrorCode = "INVALID_DIGEST" | "DIGEST_MISMATCH" | "SIZE_MISMATCH";

/** The base of the three content errors; match on `code`. */
export class ContentError extends brandedError<ContentErrorCode>("@regmirror/core.ContentError") {}

/** Which part of `algorithm:encoded` was wrong. */
export type DigestPart = "digest" | "algorithm" | "encoded";

/** A string that is not a digest regmirror can verify; `reason` says why, `part` where. */
export class InvalidDigestError extends ContentError {
  readonly reason: string;
  readonly part: DigestPart;

  /** `value` is the refused text (shown cut to 100 characters). */
  constructor(reason: string, part: DigestPart, value = "") {
    super(
      "INVALID_DIGEST",
      `invalid digest${value === "" ? "" : ` ${JSON.stringify(value.slice(0, 100))}`}: ${reason}`,
    );
    this.name = "InvalidDigestError";
    this.reason = reason;
    this.part = part;
  }
}

/**
 * True for an InvalidDigestError from any copy of this package: the family's brand, then the code
 * (`InvalidDigestError.isInstance` would recognise the whole ContentError family).
 */
export function isInvalidDigestError(value: unknown): value is InvalidDigestError {
  return ContentError.isInstance(value) && value.code === "INVALID_DIGEST";
}

export class DigestMismatchError extends ContentError {
  readonly expected: string;
  readonly actual: string;

  constructor(expected: string, actual: string) {
    super("DIGEST_MISMATCH", `content digest ${actual} does not match the expected ${expected}`);
    this.name = "DigestMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/** The content was shorter or longer than promised; too long is noticed as soon as it shows. */
export class SizeMismatchError extends ContentError {
  readonly expected: number;
  /** Bytes seen: when the content was too long, as many as had arrived when that showed. */
  readonly actual: number;
  /** The digest of the content, when known. */
  readonly digest: string | undefined;

  constructor(expected: number, actual: number, digest?: string) {
    super(
      "SIZE_MISMATCH",
      `${digest === undefined ? "content" : `blob ${digest}`}: expected ${expected} bytes, got ${actual > expected ? `more (${actual} so far)` : actual}`,
    );
    this.name = "SizeMismatchError";
    this.expected = expected;
    this.actual = actual;
    this.digest = digest;
  }
}
