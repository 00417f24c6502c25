// The vocabulary regmirror's libraries share. See README.md.
export type {
  BlobReader,
  BlobStat,
  ByteRange,
  OpenedBlob,
} from "./blob.js";
export { type Clock, sleep, systemClock, type Timer } from "./clock.js";
export {
  ContentError,
  type ContentErrorCode,
  DigestMismatchError,
  type DigestPart,
  InvalidDigestError,
  isInvalidDigestError,
  SizeMismatchError,
} from "./content-errors.js";
export {
  computeDigest,
  createDigester,
  type DigestAlgorithm,
  type Digester,
  formatDigest,
  isDigest,
  type ParsedDigest,
  parseDigest,
} from "./digest.js";
export { createDigestVerifier, DigestVerifier } from "./digest-verifier.js";
export { formatDuration, parseDuration } from "./duration.js";
export { brandedError, type ErrorBrand, errorBrand } from "./error-brand.js";
export { describeError, type Logger, silentLogger } from "./logger.js";
