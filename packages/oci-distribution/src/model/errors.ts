/**
 * Registry error codes and the OCI error body.
 * Spec: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes
 * (RANGE_INVALID, PAGINATION_NUMBER_INVALID, UNAVAILABLE and UNKNOWN are CNCF distribution's
 * extensions, which clients already know.)
 */
import { brandedError } from "@regmirror/core";

/** Each code with the HTTP status a registry answers it with. */
export const REGISTRY_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
  PAGINATION_NUMBER_INVALID: 400,
  UNAVAILABLE: 503,
  UNKNOWN: 500,
} as const;

export type RegistryErrorCode = keyof typeof REGISTRY_ERROR_STATUS;

/** The fixed message of each code (the spec's wording); `detail` carries the specifics. */
export const REGISTRY_ERROR_MESSAGE: Record<RegistryErrorCode, string> = {
  BLOB_UNKNOWN: "blob unknown to registry",
  BLOB_UPLOAD_INVALID: "blob upload invalid",
  BLOB_UPLOAD_UNKNOWN: "blob upload unknown to registry",
  DIGEST_INVALID: "provided digest did not match uploaded content",
  MANIFEST_BLOB_UNKNOWN: "manifest references a manifest or blob unknown to registry",
  MANIFEST_INVALID: "manifest invalid",
  MANIFEST_UNKNOWN: "manifest unknown to registry",
  NAME_INVALID: "invalid repository name",
  NAME_UNKNOWN: "repository name not known to registry",
  SIZE_INVALID: "provided length did not match content length",
  UNAUTHORIZED: "authentication required",
  DENIED: "requested access to the resource is denied",
  UNSUPPORTED: "the operation is unsupported",
  TOOMANYREQUESTS: "too many requests",
  RANGE_INVALID: "requested range is not satisfiable",
  PAGINATION_NUMBER_INVALID: "invalid number of results requested",
  UNAVAILABLE: "service unavailable",
  UNKNOWN: "unknown error",
};

export function isRegistryErrorCode(value: unknown): value is RegistryErrorCode {
  return typeof value === "string" && Object.hasOwn(REGISTRY_ERROR_STATUS, value);
}

/** One entry of the OCI error body. */
export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** `{"errors":[...]}` as the spec defines it. */
export interface RegistryErrorBody {
  errors: RegistryErrorEntry[];
}

export interface RegistryErrorOptions {
  /** Overrides the code's usual status (e.g. 416 for BLOB_UPLOAD_INVALID on a bad range). */
  status?: number;
  message?: string;
  detail?: unknown;
  /** Seconds, from an upstream `Retry-After`. */
  retryAfterSeconds?: number;
  /** Headers a server adds when it answers this error (`WWW-Authenticate`, `Retry-After`). */
  responseHeaders?: Record<string, string>;
  cause?: unknown;
}

/**
 * An error a registry answers with (server side) or answered with (client side).
 * `detail` is sent to clients: never put secrets or raw upstream bodies in it.
 */
export class RegistryError extends brandedError<RegistryErrorCode>(
  "@regmirror/oci-distribution.RegistryError",
) {
  readonly status: number;
  readonly detail: unknown;
  readonly retryAfterSeconds: number | undefined;
  readonly responseHeaders: Readonly<Record<string, string>> | undefined;
  /** Further entries when a registry answered several errors at once. */
  readonly errors: readonly RegistryErrorEntry[];

  constructor(
    code: RegistryErrorCode,
    options: RegistryErrorOptions = {},
    errors: readonly RegistryErrorEntry[] = [],
  ) {
    super(code, options.message ?? REGISTRY_ERROR_MESSAGE[code], { cause: options.cause });
    this.status = options.status ?? REGISTRY_ERROR_STATUS[code];
    this.detail = options.detail;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.responseHeaders = options.responseHeaders;
    this.errors = errors;
  }

  /** 408, 429 and 5xx are worth retrying; everything else will fail the same way again. */
  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }

  toErrorBody(): RegistryErrorBody {
    const entry: RegistryErrorEntry = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry, ...this.errors] };
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function toErrorBody(error: RegistryError): RegistryErrorBody {
  return error.toErrorBody();
}

/**
 * Reads an OCI error body a registry sent (lenient: registries send odd shapes).
 * Returns undefined when the body is not one.
 */
export function parseErrorBody(text: string): RegistryErrorEntry[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const errors = (value as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  const entries: RegistryErrorEntry[] = [];
  for (const item of errors) {
    if (typeof item !== "object" || item === null) continue;
    const { code, message, detail } = item as Record<string, unknown>;
    if (typeof code !== "string") continue;
    entries.push({ code, message: typeof message === "string" ? message : "", detail });
  }
  return entries;
}
