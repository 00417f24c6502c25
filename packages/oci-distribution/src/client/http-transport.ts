/**
 * One HTTP exchange with timeouts, the caller's AbortSignal, retries and manual redirects.
 * Registry semantics (auth, OCI errors) live a layer above, in registry-session.ts.
 *
 * - Timeout: `timeoutMs` is the longest silence — connecting, sending the request body, waiting
 *   for the headers, between response body chunks (undici's bodyTimeout); a large blob may take
 *   as long as it needs overall.
 * - Retries: only for requests the caller marks `retryable` (idempotent, replayable body), on
 *   429, 5xx (not 501) and connection errors, honouring Retry-After.
 * - Redirects: followed by hand so the Authorization header is dropped on the first hop to
 *   another origin (blob downloads are redirected to S3/CDN hosts with signed URLs).
 */

import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { Logger } from "@regmirror/core";
import type { Dispatcher } from "undici";
import { RegistryClientError } from "./client-errors.js";
import { redactUrl } from "./redact-url.js";
import {
  abortedError,
  parseRetryAfter,
  type ResolvedRetryOptions,
  retryDelay,
  sleep,
} from "./retry.js";

export interface HttpRequest {
  url: URL;
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers?: Record<string, string>;
  body?: Buffer | Uint8Array | string | NodeJS.ReadableStream;
  signal?: AbortSignal | undefined;
  /** Safe to send again (idempotent, and the body is bytes, not a stream). */
  retryable: boolean;
  /** GET and HEAD follow redirects; other methods return the 3xx response. */
  followRedirects?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData["body"];
  /** The URL that answered, after redirects. */
  url: URL;
  method: string;
  /** The caller's signal, which also governs the body. */
  signal: AbortSignal | undefined;
}

/** What `onResponse` observers see of each answer (headers only; the body is not theirs). */
export interface ObservedResponse {
  method: string;
  /** The URL that answered, after redirects. */
  url: URL;
  status: number;
  headers: IncomingHttpHeaders;
}

export interface HttpTransport {
  send(request: HttpRequest): Promise<HttpResponse>;
}

export interface HttpTransportOptions {
  dispatcher: Dispatcher;
  timeoutMs: number;
  retry: ResolvedRetryOptions;
  logger: Logger;
  /** Called with every answer, retried ones included; must not throw (errors are ignored). */
  onResponse?: ((response: ObservedResponse) => void) | undefined;
  /** For tests of the jitter; Math.random by default. */
  random?: () => number;
}

const MAXIMUM_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function isRetryableResponseStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  const { dispatcher, timeoutMs, retry, logger } = options;
  const random = options.random ?? Math.random;
  const observe = (response: HttpResponse) => {
    try {
      options.onResponse?.({
        method: response.method,
        url: response.url,
        status: response.status,
        headers: response.headers,
      });
    } catch {
      // An observer's failure is not the request's.
    }
  };

  async function sendOnce(request: HttpRequest, url: URL, requestHeaders: Record<string, string>) {
    const timeout = new AbortController();
    const signal = request.signal
      ? AbortSignal.any([request.signal, timeout.signal])
      : timeout.signal;
    // The timer measures silence, not duration: it restarts whenever undici takes another
    // piece of the request body, so a large upload on a slow link is not cut off.
    let timer: NodeJS.Timeout | undefined;
    const restartTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => timeout.abort(), timeoutMs);
    };
    restartTimer();
    const headers = { ...requestHeaders };
    const hasBody = request.body !== undefined && !isEmptyBytes(request.body);
    try {
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers,
        body: requestBody(request.body, headers, restartTimer),
        signal,
        // With a body, undici's header timer would also run while the body is being sent.
        headersTimeout: hasBody ? 0 : timeoutMs,
        bodyTimeout: timeoutMs,
        // undici closes the connection after a HEAD unless told otherwise: a new TCP (and TLS)
        // handshake for every tag check. A HEAD response has no body, so keeping it is safe.
        ...(request.method === "HEAD" ? { reset: false } : {}),
      });
      return response;
    } catch (error) {
      if (request.signal?.aborted) throw abortedError(request.signal);
      if (timeout.signal.aborted) {
        throw new RegistryClientError(
          "TIMEOUT",
          `${request.method} ${redactUrl(url)}: nothing sent or received for ${timeoutMs} ms`,
        );
      }
      throw toConnectionError(error, request.method, url);
    } finally {
      clearTimeout(timer);
    }
  }

  async function sendFollowingRedirects(request: HttpRequest): Promise<HttpResponse> {
    let url = request.url;
    let method = request.method;
    let headers = { ...request.headers };
    const follow = request.followRedirects ?? (method === "GET" || method === "HEAD");
    for (let hop = 0; ; hop += 1) {
      const response = await sendOnce({ ...request, method }, url, headers);
      const location = headerValue(response.headers, "location");
      if (!follow || !REDIRECT_STATUSES.has(response.statusCode) || location === undefined) {
        return {
          status: response.statusCode,
          headers: response.headers,
          body: response.body,
          url,
          method,
          signal: request.signal,
        };
      }
      await response.body.dump();
      if (hop >= MAXIMUM_REDIRECTS) {
        throw new RegistryClientError(
          "REDIRECT_INVALID",
          `${request.method} ${redactUrl(request.url)}: more than ${MAXIMUM_REDIRECTS} redirects`,
        );
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RegistryClientError(
          "REDIRECT_INVALID",
          `${request.method} ${redactUrl(url)}: redirect to an invalid Location`,
        );
      }
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new RegistryClientError(
          "REDIRECT_INVALID",
          `${request.method} ${redactUrl(url)}: redirect to a ${next.protocol} URL`,
        );
      }
      if (next.origin !== url.origin) headers = withoutAuthorization(headers);
      if (response.statusCode === 303 && method !== "HEAD") method = "GET";
      logger.debug(
        { from: redactUrl(url), to: redactUrl(next), status: response.statusCode },
        "following redirect",
      );
      url = next;
    }
  }

  return {
    async send(request) {
      for (let attempt = 0; ; attempt += 1) {
        const canRetry = request.retryable && attempt < retry.retries;
        let response: HttpResponse;
        try {
          response = await sendFollowingRedirects(request);
        } catch (error) {
          if (!canRetry || !(error instanceof RegistryClientError) || !error.retryable) throw error;
          const delay = retryDelay(attempt + 1, retry, undefined, random);
          logger.warn(
            {
              method: request.method,
              url: redactUrl(request.url),
              error: error.message,
              delayMs: delay,
            },
            "request failed, retrying",
          );
          await sleep(delay ?? 0, request.signal);
          continue;
        }
        logger.debug(
          { method: request.method, url: redactUrl(request.url), status: response.status, attempt },
          "registry answered",
        );
        observe(response);
        if (!canRetry || !isRetryableResponseStatus(response.status)) return response;
        if (response.status === 429 && !retry.retryRateLimited) return response;
        const retryAfterMs = parseRetryAfter(headerValue(response.headers, "retry-after"));
        const delay = retryDelay(attempt + 1, retry, retryAfterMs, random);
        if (delay === undefined) return response; // the server asks for longer than we wait
        await response.body.dump();
        logger.warn(
          {
            method: request.method,
            url: redactUrl(request.url),
            status: response.status,
            delayMs: delay,
          },
          "registry answered a retryable status, retrying",
        );
        await sleep(delay, request.signal);
      }
    },
  };
}

const BODY_PIECE_BYTES = 64 * 1024;

function isEmptyBytes(body: HttpRequest["body"]): boolean {
  return (typeof body === "string" || body instanceof Uint8Array) && body.length === 0;
}

/** The body as undici takes it: bytes and streams in pieces that report progress. */
function requestBody(
  body: HttpRequest["body"],
  headers: Record<string, string>,
  onProgress: () => void,
): Dispatcher.DispatchOptions["body"] {
  if (body === undefined) return null;
  if (typeof body === "string" || isEmptyBytes(body)) return body as string | Uint8Array;
  if (body instanceof Uint8Array) {
    headers["content-length"] ??= String(body.byteLength);
    return Readable.from(piecesOf(body, onProgress), { objectMode: false });
  }
  return Readable.from(progressOf(body as AsyncIterable<Uint8Array>, onProgress), {
    objectMode: false,
  });
}

function* piecesOf(bytes: Uint8Array, onProgress: () => void): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += BODY_PIECE_BYTES) {
    yield bytes.subarray(offset, offset + BODY_PIECE_BYTES);
    onProgress();
  }
}

async function* progressOf(
  source: AsyncIterable<Uint8Array>,
  onProgress: () => void,
): AsyncGenerator<Uint8Array> {
  for await (const piece of source) {
    yield piece;
    onProgress();
  }
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => name.toLowerCase() !== "authorization"),
  );
}

const TLS_ERROR_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

const TIMEOUT_ERROR_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);

/** Maps an undici / socket error to a typed client error; never quotes headers or query strings. */
export function toConnectionError(error: unknown, method: string, url: URL): RegistryClientError {
  if (error instanceof RegistryClientError) return error;
  const code = (error as { code?: unknown })?.code;
  const reason = typeof code === "string" ? code : error instanceof Error ? error.name : "error";
  const where = `${method} ${redactUrl(url)}`;
  if (typeof code === "string" && TLS_ERROR_CODES.has(code)) {
    return new RegistryClientError("TLS_FAILED", `${where}: TLS failed (${reason})`, {
      cause: error,
    });
  }
  if (typeof code === "string" && TIMEOUT_ERROR_CODES.has(code)) {
    return new RegistryClientError("TIMEOUT", `${where}: timed out (${reason})`, { cause: error });
  }
  return new RegistryClientError("CONNECTION_FAILED", `${where}: connection failed (${reason})`, {
    cause: error,
  });
}
