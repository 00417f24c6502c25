/**
 * Errors the client raises itself, when no registry answered with an OCI error: the network
 * failed, a timeout fired, the caller aborted, the configuration is unusable, or a response
 * broke the protocol. Registry answers become `RegistryError` (model/errors.ts) instead.
 * Messages never contain credentials or tokens.
 */
import { brandedError } from "@regmirror/core";

export const REGISTRY_CLIENT_ERROR_CODES = {
  /** The connection failed or broke (refused, reset, TLS failure, cut mid-body). */
  CONNECTION_FAILED: { retryable: true },
  /** TLS failed (untrusted certificate, wrong host name): retrying will not help. */
  TLS_FAILED: { retryable: false },
  /** No response headers, or no body bytes, within `timeoutMs`. */
  TIMEOUT: { retryable: true },
  /** The caller's AbortSignal fired. */
  ABORTED: { retryable: false },
  /** More redirects than the client follows, or a redirect without a usable Location. */
  REDIRECT_INVALID: { retryable: false },
  /** The registry or token service answered something the protocol does not allow. */
  INVALID_RESPONSE: { retryable: false },
  /** The token service refused to issue a token or answered without one. */
  TOKEN_REQUEST_FAILED: { retryable: false },
  /** The registry asked for an authentication scheme the client does not speak. */
  AUTH_SCHEME_UNSUPPORTED: { retryable: false },
  /** A Docker config.json names a credential helper (credHelpers / credsStore). */
  CREDENTIAL_HELPER_UNSUPPORTED: { retryable: false },
  /** A Docker config.json could not be read or parsed. */
  DOCKER_CONFIG_INVALID: { retryable: false },
  /** Options passed to the client are unusable (bad registry URL, bad retry numbers). */
  INVALID_OPTIONS: { retryable: false },
  /** A manifest is larger than the client accepts. */
  MANIFEST_TOO_LARGE: { retryable: false },
  /** `close()` was called: a blob stream still open was ended, or the client is used after it. */
  CLIENT_CLOSED: { retryable: false },
} as const;

export type RegistryClientErrorCode = keyof typeof REGISTRY_CLIENT_ERROR_CODES;

export class RegistryClientError extends brandedError<RegistryClientErrorCode>(
  "@regmirror/oci-distribution.RegistryClientError",
) {
  get retryable(): boolean {
    return REGISTRY_CLIENT_ERROR_CODES[this.code].retryable;
  }
}
