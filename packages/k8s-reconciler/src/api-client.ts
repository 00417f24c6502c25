// The HTTP client under every call to the API server: requests, JSON, watch streams, errors.
import {
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  RequestContext,
} from "@kubernetes/client-node";
import { describeError } from "@regmirror/core";
import type { Dispatcher } from "undici";
import { KubernetesApiError, ReconcilerError } from "./errors.js";
import { http1KubeConfig } from "./http1-kube-config.js";

type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface ApiRequest {
  method: HttpMethod;
  /** Path and nothing else, e.g. "/api/v1/namespaces/default/configmaps". */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Content-Type of the body; default application/json (patches need their own). */
  contentType?: string;
  signal?: AbortSignal;
}

/** A raw HTTP answer whose body is still a stream (watches). */
export interface ApiStream {
  statusCode: number;
  body: ReadableStream<Uint8Array>;
}

/**
 * Requests to the API server, authenticated through client-node's KubeConfig (tokens, client
 * certificates, exec plugins and proxies all apply). One connection pool is kept for the
 * client's life: client-node makes a new one per request otherwise.
 */
export interface ApiClient {
  /** Sends a request and parses the JSON answer; HTTP errors become KubernetesApiError. */
  request<T = unknown>(request: ApiRequest): Promise<T>;
  /** Opens a long-lived GET (a watch); the caller reads and cancels the body. */
  stream(request: Omit<ApiRequest, "method" | "body" | "contentType">): Promise<ApiStream>;
  close(): Promise<void>;
}

export interface ApiClientOptions {
  kubeConfig: KubeConfig;
  /** Timeout of a non-streaming request. Default 30 s. */
  requestTimeoutMs?: number;
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const { requestTimeoutMs = 30_000 } = options;
  // One HTTP/1.1 connection pool for the client's life (client-node makes one per request).
  const kubeConfig = http1KubeConfig(options.kubeConfig);
  const http = new IsomorphicFetchHttpLibrary();
  let dispatcher: Dispatcher | undefined;
  let closed = false;

  function serverUrl(): string {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster?.server) {
      throw new ReconcilerError(
        "BAD_KUBECONFIG",
        "the kubeconfig has no current cluster with a server URL",
      );
    }
    return cluster.server.replace(/\/+$/, "");
  }

  async function prepare(request: ApiRequest, signal: AbortSignal): Promise<RequestContext> {
    if (closed)
      throw new ReconcilerError("CLOSED", `${request.method} ${request.path} after close()`);
    const url = new URL(serverUrl() + request.path);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const context = new RequestContext(url.toString(), request.method);
    context.setHeaderParam("Accept", "application/json");
    if (request.body !== undefined) {
      context.setHeaderParam("Content-Type", request.contentType ?? "application/json");
      context.setBody(JSON.stringify(request.body));
    }
    // Headers are applied per request, so refreshed tokens (exec plugins, OIDC) are used.
    try {
      await kubeConfig.applySecurityAuthentication(context);
    } catch (error) {
      throw new ReconcilerError(
        "BAD_KUBECONFIG",
        `${request.method} ${request.path}: the kubeconfig's credentials or TLS settings could not be applied: ${describeError(error)}`,
        { cause: error },
      );
    }
    dispatcher ??= context.getDispatcher();
    if (dispatcher) context.setDispatcher(dispatcher);
    context.setSignal(signal);
    return context;
  }

  async function send(request: ApiRequest, signal: AbortSignal) {
    const label = `${request.method} ${request.path}`;
    const context = await prepare(request, signal);
    try {
      return await http.send(context).toPromise();
    } catch (error) {
      if (signal.aborted && request.signal?.aborted) throw error;
      throw new ReconcilerError("API_UNREACHABLE", `${label} failed: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  async function statusError(label: string, statusCode: number, text: string): Promise<never> {
    let status: StatusBody = {};
    try {
      status = JSON.parse(text) as StatusBody;
    } catch {
      // Not a Status object (a proxy's page, say): keep the start of the text.
    }
    const detail = status.message ?? (text.slice(0, 200) || "no message");
    throw new KubernetesApiError(statusCode, status.reason, label, detail);
  }

  return {
    async request<T>(request: ApiRequest): Promise<T> {
      const label = `${request.method} ${request.path}`;
      const timeout = AbortSignal.timeout(requestTimeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
      const response = await send(request, signal);
      let text: string;
      try {
        text = await response.body.text();
      } catch (error) {
        throw new ReconcilerError(
          "API_UNREACHABLE",
          `${label}: the answer broke off: ${describeError(error)}`,
          {
            cause: error,
          },
        );
      }
      if (response.httpStatusCode >= 400) return statusError(label, response.httpStatusCode, text);
      if (text === "") return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ReconcilerError(
          "BAD_RESPONSE",
          `${label} answered ${response.httpStatusCode} with a body that is not JSON: ${text.slice(0, 80)}`,
        );
      }
    },

    async stream(request) {
      const full: ApiRequest = { ...request, method: "GET" };
      const label = `GET ${request.path}`;
      const signal = request.signal ?? new AbortController().signal;
      const response = await send(full, signal);
      const body = response.body.stream();
      if (response.httpStatusCode >= 400 || !body) {
        const text = await response.body.text().catch(() => "");
        return statusError(label, response.httpStatusCode, text);
      }
      return { statusCode: response.httpStatusCode, body };
    },

    async close() {
      closed = true;
      // Watches and requests still open are cut: their owners were meant to close first.
      await dispatcher?.destroy().catch(() => {});
    },
  };
}
