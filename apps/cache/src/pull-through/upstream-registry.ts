/**
 * One configured upstream registry: a registry client per endpoint (credentials, Docker config,
 * CA bundle), tried in order. An endpoint that is unavailable (network, timeout, TLS, 5xx, 429)
 * passes the request on to the next; a definite answer (404, 401/403) is final.
 */
import { readFile } from "node:fs/promises";
import {
  createRegistryClient,
  type RegistryClient,
  type RegistryClientOptions,
  type RetryOptions,
} from "@regmirror/oci-distribution";
import type { EffectiveUpstream } from "@regmirror/schemas";
import { PullThroughError } from "./pull-through-errors.js";
import { describeError, type PullThroughLogger } from "./pull-through-logger.js";
import type { PullThroughMetrics, UpstreamOperation } from "./pull-through-metrics.js";
import { servesDockerHub } from "./registry-router.js";
import { classifyUpstreamError, isUnavailable } from "./upstream-errors.js";

export interface UpstreamClientOptions {
  /** Longest wait for response headers and longest silence inside a body. Default 30 s. */
  timeoutMs?: number;
  /** Retries of one endpoint before the next is tried (blob downloads resume with Range). */
  retry?: RetryOptions;
}

export interface UpstreamRegistry {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly isDockerHub: boolean;
  /** Runs `call` against each endpoint in turn until one is not unavailable. */
  request<T>(
    operation: UpstreamOperation,
    call: (client: RegistryClient) => Promise<T>,
  ): Promise<T>;
  close(): Promise<void>;
}

async function readCaBundles(upstream: EffectiveUpstream): Promise<string[]> {
  return Promise.all(
    upstream.caFiles.map(async (file) => {
      try {
        return await readFile(file, "utf8");
      } catch (error) {
        throw new PullThroughError(
          "UPSTREAM_CA_UNREADABLE",
          `upstream ${upstream.name}: cannot read the CA bundle ${file} (${describeError(error)})`,
          { cause: error },
        );
      }
    }),
  );
}

export async function connectUpstream(
  upstream: EffectiveUpstream,
  deps: { logger: PullThroughLogger; metrics: PullThroughMetrics; client: UpstreamClientOptions },
): Promise<UpstreamRegistry> {
  const { logger, metrics } = deps;
  if (upstream.endpoints.length === 0) {
    throw new PullThroughError("INVALID_OPTIONS", `upstream ${upstream.name} has no endpoints`);
  }
  const cas = await readCaBundles(upstream);
  const clientLogger = {
    debug: (fields: Record<string, unknown>, message: string) =>
      logger.debug({ ...fields, upstream: upstream.name }, message),
    warn: (fields: Record<string, unknown>, message: string) =>
      logger.warn({ ...fields, upstream: upstream.name }, message),
  };
  const clients = upstream.endpoints.map((endpoint) => {
    const options: RegistryClientOptions = { registry: endpoint, logger: clientLogger };
    if (deps.client.timeoutMs !== undefined) options.timeoutMs = deps.client.timeoutMs;
    if (deps.client.retry !== undefined) options.retry = deps.client.retry;
    if (cas.length > 0) options.ca = cas;
    const { credentials } = upstream;
    if (credentials.kind === "basic") {
      options.credentials = {
        username: credentials.username,
        password: credentials.password.reveal(),
      };
    } else if (credentials.kind === "docker-config") {
      options.dockerConfig = credentials.file;
    }
    return createRegistryClient(options);
  });

  return {
    name: upstream.name,
    hosts: upstream.hosts,
    isDockerHub: servesDockerHub(upstream),

    async request(operation, call) {
      let lastError: unknown;
      for (const [index, client] of clients.entries()) {
        const started = performance.now();
        try {
          const result = await call(client);
          metrics.upstreamLatency(upstream.name, operation, (performance.now() - started) / 1000);
          return result;
        } catch (error) {
          const kind = classifyUpstreamError(error);
          if (kind !== "not-found" && kind !== "aborted") {
            metrics.upstreamLatency(upstream.name, operation, (performance.now() - started) / 1000);
            metrics.upstreamError(upstream.name, kind);
          }
          lastError = error;
          if (!isUnavailable(kind)) throw error;
          const hasNext = index + 1 < clients.length;
          logger.warn(
            {
              upstream: upstream.name,
              endpoint: index,
              operation,
              kind,
              error: describeError(error),
            },
            hasNext ? "upstream endpoint unavailable, trying the next one" : "upstream unavailable",
          );
        }
      }
      throw lastError;
    },

    async close() {
      await Promise.allSettled(clients.map((client) => client.close()));
    },
  };
}
