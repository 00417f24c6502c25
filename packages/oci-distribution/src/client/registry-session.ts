/**
 * Requests to one registry: the Authorization header (only ever sent to the registry's own
 * origin), the 401 → token → send-again dance, and turning error answers into RegistryError
 * (from the OCI error body when there is one, else from the status).
 */

import {
  isRegistryErrorCode,
  parseErrorBody,
  REGISTRY_ERROR_MESSAGE,
  RegistryError,
  type RegistryErrorCode,
} from "../model/errors.js";
import {
  type HttpRequest,
  type HttpResponse,
  type HttpTransport,
  headerValue,
} from "./http-transport.js";
import { redactUrl } from "./redact-url.js";
import type { RegistryAuthenticator } from "./registry-auth.js";
import { readErrorText } from "./response-body.js";
import { parseRetryAfter } from "./retry.js";

export interface RegistryRequest extends Omit<HttpRequest, "url" | "retryable"> {
  /** A path under the registry (`/v2/...`) or an absolute URL the registry handed out (Location, Link). */
  target: string | URL;
  /** Token scopes the request needs (`repository:name:pull`); empty for `/v2/`. */
  scopes: readonly string[];
  /** Default: true for GET and HEAD, false otherwise. */
  retryable?: boolean;
}

export interface RegistrySession {
  readonly baseUrl: URL;
  /** Sends with auth; returns whatever status the registry answered. */
  send(request: RegistryRequest): Promise<HttpResponse>;
  /** Sends, and throws a RegistryError unless the status is one of `expected`. */
  expect(
    request: RegistryRequest,
    expected: readonly number[],
    notFoundCode?: RegistryErrorCode,
  ): Promise<HttpResponse>;
  resolve(target: string | URL): URL;
}

export function createRegistrySession(options: {
  baseUrl: URL;
  transport: HttpTransport;
  authenticator: RegistryAuthenticator;
}): RegistrySession {
  const { baseUrl, transport, authenticator } = options;

  const resolve = (target: string | URL) => new URL(target, baseUrl);

  async function send(request: RegistryRequest): Promise<HttpResponse> {
    const url = resolve(request.target);
    const sameOrigin = url.origin === baseUrl.origin;
    const replayable = !isStream(request.body);
    const retryable =
      (request.retryable ?? (request.method === "GET" || request.method === "HEAD")) && replayable;
    for (let authAttempt = 0; ; authAttempt += 1) {
      const authorization = sameOrigin
        ? await authenticator.authorization(request.scopes, request.signal)
        : undefined;
      const headers = { ...request.headers };
      if (authorization) headers.authorization = authorization;
      const response = await transport.send({ ...request, url, headers, retryable });
      if (response.status !== 401 || !sameOrigin || authAttempt >= 1 || !replayable) {
        return response;
      }
      const tryAgain = await authenticator.onUnauthorized(
        response.headers["www-authenticate"],
        request.scopes,
        authorization,
      );
      if (!tryAgain) return response;
      await response.body.dump();
    }
  }

  return {
    baseUrl,
    resolve,
    send,
    async expect(request, expected, notFoundCode) {
      const response = await send(request);
      if (expected.includes(response.status)) return response;
      throw await toRegistryError(response, request.method, notFoundCode);
    },
  };
}

function isStream(body: RegistryRequest["body"]): boolean {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { pipe?: unknown }).pipe === "function"
  );
}

/** The code a bare status stands for when the registry sent no OCI error body. */
function codeForStatus(status: number, notFoundCode: RegistryErrorCode): RegistryErrorCode {
  switch (status) {
    case 401:
      return "UNAUTHORIZED";
    case 403:
      return "DENIED";
    case 404:
      return notFoundCode;
    case 405:
      return "UNSUPPORTED";
    case 416:
      return "RANGE_INVALID";
    case 429:
      return "TOOMANYREQUESTS";
    case 503:
      return "UNAVAILABLE";
    default:
      return "UNKNOWN";
  }
}

/** Builds the RegistryError for an unexpected answer; reads (and bounds) the error body. */
export async function toRegistryError(
  response: HttpResponse,
  method: string,
  notFoundCode: RegistryErrorCode = "NAME_UNKNOWN",
): Promise<RegistryError> {
  const text = method === "HEAD" ? "" : await readErrorText(response);
  if (method === "HEAD") await response.body.dump();
  const entries = parseErrorBody(text) ?? [];
  const retryAfterMs = parseRetryAfter(headerValue(response.headers, "retry-after"));
  const retryAfterSeconds = retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000);
  const first = entries[0];
  const where = `${method} ${redactUrl(response.url)}: HTTP ${response.status}`;
  if (first && isRegistryErrorCode(first.code)) {
    return new RegistryError(
      first.code,
      {
        status: response.status,
        message: `${first.message || first.code} (${where})`,
        detail: first.detail,
        retryAfterSeconds,
      },
      entries.slice(1),
    );
  }
  const code = codeForStatus(response.status, notFoundCode);
  return new RegistryError(code, {
    status: response.status,
    message: `${REGISTRY_ERROR_MESSAGE[code]} (${where})`,
    retryAfterSeconds,
  });
}
