/**
 * Range (RFC 9110 §14.2) for blob GETs and Content-Range for chunked uploads
 * (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-a-blob-in-chunks).
 */
import type { ByteRange } from "@regmirror/core";

/** A range checked against the blob's size: both ends known. */
export type ResolvedByteRange = Required<ByteRange>;

const rangeHeaderPattern = /^bytes=(\d{0,15})-(\d{0,15})$/;

export type RangeRequest =
  /** No Range header, or one we ignore (several ranges, another unit, bad syntax): send it all. */
  { kind: "whole" } | { kind: "partial"; range: ResolvedByteRange } | { kind: "unsatisfiable" };

/**
 * Reads a `Range` header against a blob of `size` bytes. Only one `bytes=` range is served;
 * anything else is ignored as RFC 9110 allows, so a malformed header can never cause an error.
 * A range that ends before it starts (`bytes=500-0`) is refused rather than ignored (RFC 9110
 * §14.2 allows either): the client asked for bytes that cannot exist, and the OCI conformance
 * suite expects 416.
 */
export function parseRangeHeader(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: "whole" };
  const match = rangeHeaderPattern.exec(header.trim());
  if (!match) return { kind: "whole" };
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return { kind: "whole" };
  if (first === "") {
    // Suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", range: { start: Math.max(0, size - length), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return { kind: "unsatisfiable" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", range: { start, end } };
}

const contentRangePattern = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/;

/** An upload chunk's `Content-Range: <start>-<end>`; undefined when it is not of that form. */
export function parseUploadContentRange(header: string): ResolvedByteRange | undefined {
  const match = contentRangePattern.exec(header.trim());
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  return end < start ? undefined : { start, end };
}
