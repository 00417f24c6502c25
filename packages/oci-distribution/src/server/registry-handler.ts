/**
 * The registry server: a `(request, response)` handler for node:http / node:https that speaks
 * the OCI distribution spec over a RegistryStorage. No web framework; a request goes through
 * named stages, as in fastify: the route is matched once, `resolveRoute` and `authorize` (the
 * caller's) see it, the endpoint serves it, and every error leaves through `answerError`.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { describeError, isInvalidDigestError, type Logger, silentLogger } from "@regmirror/core";
import { RegistryError } from "../model/errors.js";
import { repositoryNameProblem } from "../model/reference.js";
import { handleBlob } from "./blob-endpoint.js";
import { createBodyBufferPool } from "./body-buffers.js";
import { sendJson, sendRegistryError, toRegistryError } from "./http-exchange.js";
import { handleCatalog, handleReferrers, handleTags } from "./listing-endpoints.js";
import { handleManifest } from "./manifest-endpoint.js";
import { methodNotAllowed, type RegistryExchange } from "./registry-exchange.js";
import { matchRegistryRoute, type RegistryRoute } from "./registry-route.js";
import type { RegistryStorage, StorageRequestContext } from "./registry-storage.js";
import { type RegistryLimits, resolveRegistryLimits } from "./server-limits.js";
import { handleUpload } from "./upload-endpoint.js";

/** One request as the stages see it: its route, matched once, and its query, parsed once. */
export interface RegistryRequestContext<Routed = unknown> {
  readonly request: IncomingMessage;
  /** The endpoint; `resolveRoute` may replace it. */
  route: RegistryRoute;
  readonly query: URLSearchParams;
  /**
   * What `resolveRoute` worked out for the storage (e.g. the upstream that serves the
   * repository); every storage call of this request gets it as `context.routed`.
   */
  routed?: Routed;
}

export interface RegistryHandlerOptions<Routed = unknown> {
  storage: RegistryStorage<Routed>;
  logger?: Logger;
  limits?: Partial<RegistryLimits>;
  /**
   * First stage: the route the storage is asked about (fastify's `rewriteUrl`, without touching
   * the request), e.g. a registry named in the query put into the repository. Throw a
   * RegistryError to refuse the request.
   */
  resolveRoute?(context: RegistryRequestContext<Routed>): RegistryRoute;
  /** Second stage, before the endpoint: throw a RegistryError (UNAUTHORIZED, DENIED) to refuse. */
  authorize?(context: RegistryRequestContext<Routed>): void | Promise<void>;
}

export interface RegistryHandler {
  (request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Aborts the requests under way; later requests are answered UNAVAILABLE. */
  close(): Promise<void>;
}

function validRepository(repository: string): string {
  const problem = repositoryNameProblem(repository);
  if (problem !== undefined) {
    throw new RegistryError("NAME_INVALID", { detail: { reason: problem } });
  }
  return repository;
}

/** Percent-decodes the last path segment (some clients send `sha256%3A...`). */
function decodeSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// Not async: it only picks the endpoint (one promise fewer per request).
function dispatch(exchange: RegistryExchange, route: RegistryRoute): Promise<void> | void {
  switch (route.endpoint) {
    case "base":
      if (exchange.request.method !== "GET" && exchange.request.method !== "HEAD") {
        throw methodNotAllowed(["GET", "HEAD"]);
      }
      return sendJson(exchange.request, exchange.response, 200, {});
    case "catalog":
      return handleCatalog(exchange);
    case "tags":
      return handleTags(exchange, validRepository(route.repository));
    case "manifest":
      return handleManifest(
        exchange,
        validRepository(route.repository),
        decodeSegment(route.reference),
      );
    case "blob":
      return handleBlob(exchange, validRepository(route.repository), decodeSegment(route.digest));
    case "upload":
      return handleUpload(exchange, validRepository(route.repository), route.uploadId);
    case "referrers":
      return handleReferrers(
        exchange,
        validRepository(route.repository),
        decodeSegment(route.digest),
      );
  }
}

/**
 * The storage's context of one request. Its AbortController is made only when a storage reads
 * `signal`: most requests (a stored manifest, a small blob) never do, and a controller with its
 * signal and a close listener per request showed in the profile of small GETs (ADR 0035).
 */
class RequestContext<Routed> implements StorageRequestContext<Routed> {
  authorization?: string;
  routed?: Routed;
  #controller: AbortController | undefined;
  #aborted = false;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#controller?.abort();
  }
}

const requestContextKey = Symbol("regmirror.registry.request-context");

type ContextResponse = ServerResponse & { [requestContextKey]: RequestContext<unknown> };

/**
 * The query of every request without `?`, shared rather than made per request; it refuses
 * additions, so a stage cannot leak one into other requests.
 */
class NoQuery extends URLSearchParams {
  override append(name: string): never {
    throw new TypeError(`cannot add "${name}" to the shared empty query of a request`);
  }

  override set(name: string): never {
    throw new TypeError(`cannot add "${name}" to the shared empty query of a request`);
  }
}

const noQuery = new NoQuery();

export function createRegistryHandler<Routed = unknown>(
  options: RegistryHandlerOptions<Routed>,
): RegistryHandler {
  const { storage } = options;
  const logger = options.logger ?? silentLogger;
  const limits = resolveRegistryLimits(options.limits);
  const inFlight = new Set<RequestContext<Routed>>();
  const bodyBuffers = createBodyBufferPool();
  let closed = false;

  // One listener function for every response of this handler (no closure per request).
  function requestEnded(this: ContextResponse): void {
    const context = this[requestContextKey] as RequestContext<Routed>;
    inFlight.delete(context);
    if (!this.writableFinished) context.abort();
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestContext = new RequestContext<Routed>();
    inFlight.add(requestContext);
    (response as ContextResponse)[requestContextKey] = requestContext;
    response.on("close", requestEnded);
    const rawUrl = request.url ?? "";
    const queryStart = rawUrl.indexOf("?");
    const path = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
    try {
      if (closed)
        throw new RegistryError("UNAVAILABLE", { message: "the registry is shutting down" });
      if (path.length > limits.maxPathLength) {
        throw new RegistryError("NAME_INVALID", {
          status: 414,
          detail: { reason: "request path too long" },
        });
      }
      const route = matchRegistryRoute(path);
      if (route === undefined) {
        throw new RegistryError("UNSUPPORTED", { status: 404, message: "no such endpoint" });
      }
      const query = queryStart < 0 ? noQuery : new URLSearchParams(rawUrl.slice(queryStart + 1));
      const context: RegistryRequestContext<Routed> = { request, route, query };
      if (options.resolveRoute) context.route = options.resolveRoute(context);
      // A stage that decides at once returns nothing: then there is nothing to wait for.
      const authorizing = options.authorize?.(context);
      if (authorizing !== undefined) await authorizing;
      const exchange: RegistryExchange = {
        request,
        response,
        storage,
        limits,
        logger,
        query,
        context: requestContext,
        bodyBuffers,
      };
      const authorization = request.headers.authorization;
      if (authorization !== undefined) requestContext.authorization = authorization;
      if (context.routed !== undefined) requestContext.routed = context.routed;
      await dispatch(exchange, context.route);
    } catch (error) {
      answerError(request, response, error);
    }
  }

  function answerError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
    let registryError = toRegistryError(error);
    if (registryError === undefined && isInvalidDigestError(error)) {
      registryError = new RegistryError("DIGEST_INVALID", { detail: { reason: error.reason } });
    }
    if (registryError === undefined) {
      // Not ours to explain to the client: log it (without the request) and answer 500.
      if (response.headersSent || request.destroyed) {
        logger.debug(
          { error: describeError(error), method: request.method },
          "registry response cut short",
        );
      } else {
        logger.error(
          { error: describeError(error), method: request.method },
          "registry request failed",
        );
      }
      registryError = new RegistryError("UNKNOWN");
    } else {
      logger.debug({ code: registryError.code, method: request.method }, "registry error answered");
    }
    if (response.destroyed) return;
    sendRegistryError(request, response, registryError);
  }

  const handler = handle as RegistryHandler;
  handler.close = async () => {
    closed = true;
    for (const context of inFlight) context.abort();
  };
  return handler;
}
