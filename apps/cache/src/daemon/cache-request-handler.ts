/**
 * The daemon's request listener: request id, access log and request metrics for every
 * request; `/healthz`, `/readyz`, `/metrics` and `/auth/token`; then the registry handler
 * (cache-registry-handler.ts: namespace, client auth, endpoints) with `http.headers` added and
 * the cache outcome sent as `X-Cache`. Nothing thrown here reaches node:http: an unexpected
 * error is logged and answered as the OCI error UNKNOWN. HTTP/1.1 and HTTP/2 (compatibility
 * API) requests take one path.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  RegistryError,
  type RegistryHandler,
  sendRegistryError,
} from "@regmirror/oci-distribution";
import type { Logger } from "pino";
import type { ClientAuth } from "../auth/client-auth.js";
import { tokenPath } from "../auth/htpasswd-client-auth.js";
import {
  type AccessLogEntry,
  describeRequest,
  type FinishedRequest,
  trackResponse,
  writeAccessLogLine,
} from "../logging/access-log.js";
import type { RequestEntries } from "../logging/request-entries.js";
import { requestIdOf } from "../logging/request-id.js";
import type { CacheMetrics } from "../metrics/cache-metrics.js";
import { runWithPeerMark } from "../peers/peer-request.js";
import { peerHeader } from "../peers/peer-signature.js";
import {
  type CacheOutcome,
  newRequestCacheState,
  outcomeOf,
  type RequestCacheState,
  runWithCacheState,
} from "./cache-outcome.js";

/** Answers a request it knows the path of and returns true; false leaves it to the next. */
export type OwnRoute = (
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
) => Promise<boolean>;

export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

export interface DaemonState {
  /** True once listening with the store open; false again while draining. */
  ready: boolean;
  draining: boolean;
  /** Requests whose responses have not ended yet. */
  inFlight: number;
}

export interface CacheRequestHandlerOptions {
  /** The registry API (createCacheRegistryHandler), its stages writing into `entries`. */
  registryHandler: RegistryHandler;
  /** Each request's access log entry, kept here for the registry handler's stages. */
  entries: RequestEntries;
  auth: ClientAuth;
  metrics: CacheMetrics;
  /** null: /metrics is not served on this listener. */
  metricsPath: string | null;
  /** False: this listener serves only health and metrics. */
  servesRegistry: boolean;
  accessLog: boolean;
  /** http.headers: added to every registry API response (the server's own headers win). */
  responseHeaders: Readonly<Record<string, readonly string[]>>;
  /**
   * The daemon's own pages beside the registry API (the admin API, the status page), each with
   * its own credential check: tried in order for a path outside /v2; absent on the metrics listener.
   */
  ownRoutes?: readonly OwnRoute[];
  /** Told of every finished request (the status page counts pulls). */
  onFinished?: (finished: FinishedRequest) => void;
  state: DaemonState;
  logger: Logger;
}

function pathOf(url: string | undefined): string {
  const value = url ?? "/";
  const queryStart = value.indexOf("?");
  return queryStart < 0 ? value : value.slice(0, queryStart);
}

function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  contentType = "text/plain; charset=utf-8",
) {
  const body = Buffer.from(text);
  response.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": String(body.byteLength),
  });
  response.end(body);
}

/**
 * The label a request is counted under: one of the daemon's own paths, or "other" until the
 * registry handler has matched the route (its first stage writes the endpoint into the entry).
 */
function routeLabel(path: string, metricsPath: string | null): string {
  if (path === "/healthz" || path === "/readyz") return path.slice(1);
  if (path === tokenPath) return "token";
  if (metricsPath !== null && path === metricsPath) return "metrics";
  if (path.startsWith("/admin/")) return "admin";
  return "other";
}

/** Largest body of a token request (an OAuth2 form with a user name and a password). */
const maxTokenRequestBytes = 8 * 1024;

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  if (request.method !== "POST") return new URLSearchParams(request.url?.split("?")[1] ?? "");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > maxTokenRequestBytes) {
      throw new RegistryError("SIZE_INVALID", {
        status: 413,
        message: "the token request is too large",
      });
    }
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/** What the X-Cache header is made from, kept on the response it decorates. */
interface Decoration {
  entry: AccessLogEntry;
  cacheState: RequestCacheState;
  writeHead: ServerResponse["writeHead"];
}

const decoration = Symbol("regmirror.cache-outcome.decoration");

type DecoratedResponse = ServerResponse & { [decoration]: Decoration };

const cacheHeaderValues: Readonly<Record<CacheOutcome, string>> = {
  hit: "HIT",
  miss: "MISS",
  stale: "STALE",
  coalesced: "COALESCED",
};

/**
 * Writes a registry response's head with its X-Request-Id and X-Cache. Shared by every registry
 * response (no closure per request, ADR 0035). When the caller passes its headers as an object,
 * the cache's two go into one object with them (the caller's own win), so node:http takes all
 * headers at once rather than one `setHeader` each, which costs a lowercased name and an array
 * per header. Otherwise (a head written implicitly, headers set one by one) they are set only
 * where the caller set none. A name must not differ from X-Request-Id or X-Cache only in case in
 * a caller's object: the first worker's answer is passed on header by header for that reason.
 */
function writeHeadWithCacheOutcome(
  this: DecoratedResponse,
  status: number,
  reasonOrHeaders?: unknown,
  headers?: unknown,
): ServerResponse {
  const { entry, cacheState, writeHead } = this[decoration];
  entry.cache = outcomeOf(cacheState, entry.route, status);
  const cache = entry.cache === undefined ? undefined : cacheHeaderValues[entry.cache];
  const write = writeHead as (...args: unknown[]) => ServerResponse;
  const reason = typeof reasonOrHeaders === "string" ? reasonOrHeaders : undefined;
  const given = reason === undefined ? reasonOrHeaders : headers;
  if (given !== null && typeof given === "object" && !Array.isArray(given)) {
    const all =
      cache === undefined
        ? { "X-Request-Id": entry.requestId, ...given }
        : { "X-Request-Id": entry.requestId, "X-Cache": cache, ...given };
    return reason === undefined
      ? write.call(this, status, all)
      : write.call(this, status, reason, all);
  }
  if (!this.hasHeader("X-Request-Id")) this.setHeader("X-Request-Id", entry.requestId);
  if (cache !== undefined && !this.hasHeader("X-Cache")) this.setHeader("X-Cache", cache);
  return write.call(this, status, reasonOrHeaders, headers);
}

export function createCacheRequestHandler(options: CacheRequestHandlerOptions): RequestListener {
  const { auth, metrics, state, logger } = options;
  const isRegistryApiPath = (path: string) =>
    options.servesRegistry &&
    (path === "/v2" || path.startsWith("/v2/")) &&
    path !== options.metricsPath;

  async function serve(request: IncomingMessage, response: ServerResponse, path: string) {
    if (path === "/healthz") return sendText(response, 200, "ok\n");
    if (path === "/readyz") {
      return state.ready
        ? sendText(response, 200, "ready\n")
        : sendText(response, 503, state.draining ? "draining\n" : "starting\n");
    }
    if (options.metricsPath !== null && path === options.metricsPath) {
      const rendered = await metrics.render();
      return sendText(response, 200, rendered.body, rendered.contentType);
    }
    if (options.servesRegistry && path === tokenPath && auth.issueToken !== undefined) {
      if (request.method !== "GET" && request.method !== "POST") {
        throw new RegistryError("UNSUPPORTED", { status: 405, message: "use GET or POST" });
      }
      const answer = await auth.issueToken(
        { authorization: request.headers.authorization },
        await readForm(request),
      );
      const body = Buffer.from(JSON.stringify(answer.body));
      response.writeHead(answer.status, {
        ...answer.headers,
        "Content-Type": "application/json",
        "Content-Length": String(body.byteLength),
        "Cache-Control": "no-store",
      });
      response.end(body);
      return;
    }
    if (isRegistryApiPath(path)) return options.registryHandler(request, response);
    for (const ownRoute of options.ownRoutes ?? []) {
      if (await ownRoute(request, response, path)) return;
    }
    sendRegistryError(
      request,
      response,
      new RegistryError("UNSUPPORTED", { status: 404, message: "no such endpoint" }),
    );
  }

  const responseHeaders = Object.entries(options.responseHeaders);
  /** http.headers, and the cache outcome as X-Cache once the response head is written. */
  const decorateRegistryResponse = (
    response: ServerResponse,
    entry: AccessLogEntry,
    cacheState: RequestCacheState,
  ) => {
    for (const [name, values] of responseHeaders) response.setHeader(name, [...values]);
    (response as DecoratedResponse)[decoration] = {
      entry,
      cacheState,
      writeHead: response.writeHead,
    };
    response.writeHead = writeHeadWithCacheOutcome as ServerResponse["writeHead"];
  };

  const finished = (done: FinishedRequest) => {
    state.inFlight -= 1;
    metrics.requestFinished(done.entry.route, done.entry.method, done.status, done.seconds);
    metrics.bytesSent(done.entry.route, done.entry.bytes);
    if (options.accessLog) writeAccessLogLine(logger, done);
    options.onFinished?.(done);
  };

  /** Serves one request (in its cache state); nothing thrown leaves it. */
  async function serveRequest(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    entry: AccessLogEntry,
  ): Promise<void> {
    try {
      // Only a request that says it comes from a replica gets a mark for the authorize stage.
      if (request.headers[peerHeader] !== undefined) {
        await runWithPeerMark({ fromPeer: false }, () => serve(request, response, path));
      } else if (isRegistryApiPath(path)) {
        // The registry API directly, not through `serve`: one promise fewer per request.
        await options.registryHandler(request, response);
      } else {
        await serve(request, response, path);
      }
    } catch (error) {
      if (RegistryError.isInstance(error)) {
        sendRegistryError(request, response, error);
        return;
      }
      logger.error(
        {
          requestId: entry.requestId,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        },
        "request failed",
      );
      if (!response.headersSent) sendRegistryError(request, response, new RegistryError("UNKNOWN"));
      else response.destroy();
    }
  }

  return (request, response) => {
    const path = pathOf(request.url);
    const entry = describeRequest(
      request,
      requestIdOf(request),
      routeLabel(path, options.metricsPath),
    );
    const cacheState = newRequestCacheState();
    options.entries.set(request, entry);
    state.inFlight += 1;
    // A registry response gets its X-Request-Id with its head (writeHeadWithCacheOutcome).
    if (options.servesRegistry && (path.startsWith("/v2") || path === tokenPath)) {
      decorateRegistryResponse(response, entry, cacheState);
    } else {
      response.setHeader("X-Request-Id", entry.requestId);
    }
    // While draining, HTTP/1.1 keep-alive connections are told to close after this response
    // (HTTP/2 sessions get a GOAWAY from the daemon instead; the header is not allowed there).
    if (state.draining && request.httpVersionMajor === 1) response.setHeader("Connection", "close");
    trackResponse(response, entry, finished);
    // The request's arguments are passed through, not captured: no closures per request.
    void runWithCacheState(cacheState, serveRequest, request, response, path, entry);
  };
}
