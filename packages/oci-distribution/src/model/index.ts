// The OCI model. Digests and content errors are @regmirror/core's, re-exported here because
// they are part of the protocol a user of this package speaks.
export {
  ContentError,
  type ContentErrorCode,
  computeDigest,
  createDigester,
  createDigestVerifier,
  type DigestAlgorithm,
  type Digester,
  DigestMismatchError,
  type DigestPart,
  DigestVerifier,
  formatDigest,
  InvalidDigestError,
  isDigest,
  isInvalidDigestError,
  type ParsedDigest,
  parseDigest,
  SizeMismatchError,
} from "@regmirror/core";
export * from "./errors.js";
export * from "./manifest.js";
export * from "./media-types.js";
export * from "./reference.js";
