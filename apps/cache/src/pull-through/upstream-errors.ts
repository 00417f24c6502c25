/**
 * What went wrong upstream, in the few kinds the cache acts on: an unavailable upstream
 * (network, timeout, TLS, 5xx, 429, an endpoint whose circuit is open) lets a tag resolve to its
 * last known digest and moves on to the next endpoint; a definite answer (404, 401/403, bad or
 * oversized content) does neither.
 */
import { BlobStoreError } from "@regmirror/blob-store";
import {
  RegistryClientError,
  RegistryError,
  type RegistryErrorCode,
} from "@regmirror/oci-distribution";

export type UpstreamErrorKind =
  | "network"
  | "timeout"
  | "tls"
  | "server-error"
  | "rate-limited"
  | "not-found"
  | "denied"
  | "invalid-content"
  | "too-large"
  | "circuit-open"
  | "aborted"
  | "other";

/**
 * The cache gave up on an upstream without its answer: no endpoint answered within the bound
 * for content the cache lacks (`timeout`), every endpoint is marked down (`circuit-open`), or
 * the upstream's back-off after a 429 is still running (`rate-limited`).
 */
export class UpstreamUnavailableError extends Error {
  override readonly name = "UpstreamUnavailableError";
  constructor(
    readonly kind: "timeout" | "circuit-open" | "rate-limited",
    message: string,
    /** For circuit-open and rate-limited: seconds until the upstream is asked again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

const unavailableKinds: ReadonlySet<UpstreamErrorKind> = new Set([
  "network",
  "timeout",
  "tls",
  "server-error",
  "rate-limited",
  "circuit-open",
]);

export function classifyUpstreamError(error: unknown): UpstreamErrorKind {
  if (error instanceof UpstreamUnavailableError) return error.kind;
  if (RegistryClientError.isInstance(error)) {
    switch (error.code) {
      case "CONNECTION_FAILED":
        return "network";
      case "TIMEOUT":
        return "timeout";
      case "TLS_FAILED":
        return "tls";
      case "ABORTED":
        return "aborted";
      case "TOKEN_REQUEST_FAILED":
      case "AUTH_SCHEME_UNSUPPORTED":
        return "denied";
      case "MANIFEST_TOO_LARGE":
        return "too-large";
      case "INVALID_RESPONSE":
      case "REDIRECT_INVALID":
        return "invalid-content";
      default:
        return "other";
    }
  }
  if (RegistryError.isInstance(error)) {
    if (error.status === 404) return "not-found";
    if (error.status === 401 || error.status === 403) return "denied";
    if (error.status === 429) return "rate-limited";
    if (error.status >= 500) return "server-error";
    return "other";
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "DIGEST_MISMATCH" || code === "SIZE_MISMATCH") return "invalid-content";
  return "other";
}

/** The upstream could not answer: serve stale, try the next endpoint. */
export function isUnavailable(kind: UpstreamErrorKind): boolean {
  return unavailableKinds.has(kind);
}

/**
 * The error a client of the cache sees for an upstream failure on content the cache does not
 * have. It names the upstream and the kind of failure, never upstream URLs or credentials.
 * A failure of the cache's own store is passed on as it is (the server logs it, answers 500).
 */
export function toClientError(
  error: unknown,
  upstream: string,
  notFoundCode: RegistryErrorCode,
): Error {
  if (isStorageFull(error)) {
    return new RegistryError("UNAVAILABLE", {
      status: 507,
      message: "the cache's storage is full: it could not keep this content for its clients",
      detail: { reason: "storage-full" },
    });
  }
  if (BlobStoreError.isInstance(error)) return error;
  const kind = classifyUpstreamError(error);
  switch (kind) {
    case "not-found":
      return new RegistryError(notFoundCode, { detail: { upstream } });
    case "denied":
      return new RegistryError("DENIED", {
        message: `upstream registry ${upstream} refused access`,
        detail: { upstream },
      });
    case "rate-limited": {
      const retryAfterSeconds =
        RegistryError.isInstance(error) || error instanceof UpstreamUnavailableError
          ? error.retryAfterSeconds
          : undefined;
      return new RegistryError("TOOMANYREQUESTS", {
        message: `upstream registry ${upstream} is rate limiting the cache and the content is not cached`,
        detail: { upstream },
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      });
    }
    case "too-large":
      return new RegistryError("UNAVAILABLE", {
        message: `upstream registry ${upstream} sent a manifest larger than the cache accepts; it was refused without reading it all, and nothing was stored`,
        detail: { upstream, reason: kind },
      });
    case "circuit-open":
    case "timeout":
      if (error instanceof UpstreamUnavailableError) {
        return new RegistryError("UNAVAILABLE", {
          message: `upstream registry ${upstream} is unavailable (${error.message}) and the content is not cached`,
          detail: { upstream, reason: kind },
          ...(error.retryAfterSeconds === undefined
            ? {}
            : { retryAfterSeconds: error.retryAfterSeconds }),
        });
      }
      return new RegistryError("UNAVAILABLE", {
        message: `upstream registry ${upstream} is unavailable (${kind}) and the content is not cached`,
        detail: { upstream, reason: kind },
      });
    case "invalid-content":
      return new RegistryError("UNAVAILABLE", {
        message: `upstream registry ${upstream} sent content that failed verification; nothing was stored`,
        detail: { upstream, reason: kind },
      });
    default:
      return new RegistryError("UNAVAILABLE", {
        message: `upstream registry ${upstream} is unavailable (${kind}) and the content is not cached`,
        detail: { upstream, reason: kind },
      });
  }
}

/** The store's disk (or the spool's) is full: ENOSPC, EDQUOT or the store's StorageFullError. */
export function isStorageFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "BLOB_STORE_STORAGE_FULL" || code === "ENOSPC" || code === "EDQUOT";
}
