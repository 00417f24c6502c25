/**
 * The cache's connection to one configured upstream registry (`UpstreamConnection`; the test
 * kit's `UpstreamRegistry` is a docker-registry process): a registry client per endpoint (credentials, Docker config,
 * CA bundle), tried in order. An endpoint that is unavailable (network, timeout, TLS, 5xx, 429)
 * passes the request on to the next; a definite answer (404, 401/403) is final. Each endpoint
 * has a circuit breaker, and a request waits at most until its deadline for an answer
 * (docs/adr/0016-upstream-bounds-and-circuit-breaker.md).
 */

import { readFile } from "node:fs/promises";
import { type Clock, describeError, type Logger } from "@regmirror/core";
import {
  createRegistryClient,
  type RegistryClient,
  type RegistryClientOptions,
  type RetryOptions,
} from "@regmirror/oci-distribution";
import type { EffectiveUpstream, RateLimitHeadroom } from "@regmirror/schemas";
import { CircuitBreaker, type UpstreamEndpointHealth } from "./circuit-breaker.js";
import { PullThroughError } from "./pull-through-errors.js";
import type { PullThroughMetrics, UpstreamOperation } from "./pull-through-metrics.js";
import { servesDockerHub } from "./registry-router.js";
import {
  classifyUpstreamError,
  isUnavailable,
  UpstreamUnavailableError,
} from "./upstream-errors.js";
import { UpstreamRateLimit } from "./upstream-rate-limit.js";

export interface UpstreamClientOptions {
  /** Longest wait for response headers and longest silence inside a body. Default 30 s. */
  timeoutMs?: number;
  /** Retries of one endpoint before the next is tried (blob downloads resume with Range). */
  retry?: RetryOptions;
  /** Largest manifest accepted from upstream (larger: refused before it is read). */
  maximumManifestBytes?: number;
}

/** How long a request waits for upstream, and when an endpoint counts as down. */
export interface UpstreamBoundsOptions {
  /** The longest a request waits for an answer (headers), over every endpoint and retry. */
  answerWithinMs: number;
  circuitBreaker: { failures: number; openForMs: number };
  /** Rate limits: the headroom below which pulls are kept, the back-off after a 429. */
  rateLimits: { headroom: RateLimitHeadroom; backOffMs: number };
}

export interface UpstreamRequestOptions {
  /** When to give up waiting for an answer (`clock.now()` time); default: now + answerWithinMs. */
  deadlineAt?: number;
}

export interface UpstreamConnection {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly isDockerHub: boolean;
  /**
   * Runs `call` against each endpoint whose circuit is not open, in turn, until one is not
   * unavailable. `call` must pass `signal` to the client: it fires at the deadline (while no
   * answer has come) and when the storage closes.
   */
  request<T>(
    operation: UpstreamOperation,
    call: (client: RegistryClient, signal: AbortSignal) => Promise<T>,
    options?: UpstreamRequestOptions,
  ): Promise<T>;
  /**
   * Pass-through client auth's question, asked as a client of the cache: `ask` gets a client
   * per endpoint that carries `credentials` (the client's own, or none; never the cache's), with
   * this upstream's CA bundles, and runs on each endpoint in turn until `isAnswer` accepts what it
   * returned. Outside the circuit breakers: one client's answer says nothing about the upstream's
   * health for the cache. `ask` must not throw. Resolves to the first result `isAnswer`
   * accepts, else the last endpoint's.
   */
  askAs<T>(
    credentials: { username: string; password: string } | undefined,
    settings: { timeoutMs: number },
    ask: (client: RegistryClient) => Promise<T>,
    isAnswer: (result: T) => boolean,
  ): Promise<T>;
  /** A deadline for a request starting now, to share between requests one client waits for. */
  deadline(): number;
  /** The circuit of each endpoint, in order. */
  health(): UpstreamEndpointHealth[];
  /** The upstream's announced pull limit and the back-off all requests share after a 429. */
  readonly rateLimit: UpstreamRateLimit;
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
  deps: {
    logger: Logger;
    metrics: PullThroughMetrics;
    client: UpstreamClientOptions;
    bounds: UpstreamBoundsOptions;
    clock: Clock;
    /** Aborted when the storage closes. */
    signal: AbortSignal;
  },
): Promise<UpstreamConnection> {
  const { logger, metrics, bounds, clock } = deps;
  if (upstream.endpoints.length === 0) {
    throw new PullThroughError("INVALID_OPTIONS", `upstream ${upstream.name} has no endpoints`);
  }
  const cas = await readCaBundles(upstream);
  const rateLimit = new UpstreamRateLimit({
    upstream: upstream.name,
    headroom: bounds.rateLimits.headroom,
    backOffMs: bounds.rateLimits.backOffMs,
    clock,
    logger,
  });
  const named =
    (level: keyof Logger) =>
    (fields: Record<string, unknown>, message: string): void =>
      logger[level]({ ...fields, upstream: upstream.name }, message);
  const clientLogger: Logger = {
    debug: named("debug"),
    info: named("info"),
    warn: named("warn"),
    error: named("error"),
  };
  const clients = upstream.endpoints.map((endpoint) => {
    const origin = new URL(endpoint).origin;
    const options: RegistryClientOptions = {
      registry: endpoint,
      logger: clientLogger,
      // A 429 is not waited out per request: the upstream's one back-off covers every request.
      retry: { ...deps.client.retry, retryRateLimited: false },
      // Only the registry's own answers speak for its limit (not a token service or a CDN).
      onResponse: (answer) => {
        if (answer.url.origin === origin) rateLimit.observe(answer.status, answer.headers);
      },
    };
    if (deps.client.timeoutMs !== undefined) options.timeoutMs = deps.client.timeoutMs;
    if (deps.client.maximumManifestBytes !== undefined) {
      options.maximumManifestBytes = deps.client.maximumManifestBytes;
    }
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

  const breakers = upstream.endpoints.map(
    (endpoint, index) =>
      new CircuitBreaker({
        upstream: upstream.name,
        endpoint,
        failures: bounds.circuitBreaker.failures,
        openForMs: bounds.circuitBreaker.openForMs,
        clock,
        onOpen: (health) =>
          logger.warn(
            {
              upstream: upstream.name,
              endpoint: index,
              url: endpoint,
              failures: health.consecutiveFailures,
              kind: health.lastError?.kind,
              error: health.lastError?.message,
              retryInMs: bounds.circuitBreaker.openForMs,
            },
            "upstream endpoint down: circuit opened, requests skip it until a probe succeeds",
          ),
        onClose: (_health, downForMs) =>
          logger.info(
            { upstream: upstream.name, endpoint: index, url: endpoint, downForMs },
            "upstream endpoint answers again: circuit closed",
          ),
      }),
  );

  /** The error of a request no endpoint was asked for: every circuit is open. */
  function allOpen(): UpstreamUnavailableError {
    const retryAt = Math.min(...breakers.map((breaker) => breaker.health().retryAt ?? clock.now()));
    const seconds = Math.max(1, Math.ceil((retryAt - clock.now()) / 1000));
    const last = breakers[0]?.health().lastError;
    return new UpstreamUnavailableError(
      "circuit-open",
      `marked down after repeated failures${last ? `, last: ${last.kind}` : ""}; tried again in ${seconds} s`,
      seconds,
    );
  }

  return {
    name: upstream.name,
    hosts: upstream.hosts,
    isDockerHub: servesDockerHub(upstream),

    async request(operation, call, options = {}) {
      const backOffMs = rateLimit.backOffRemainingMs();
      if (backOffMs > 0) {
        const seconds = Math.ceil(backOffMs / 1000);
        throw new UpstreamUnavailableError(
          "rate-limited",
          `backing off after a 429 for ${seconds} more s`,
          seconds,
        );
      }
      const deadlineAt = options.deadlineAt ?? clock.now() + bounds.answerWithinMs;
      const windowSeconds = Math.round((deadlineAt - clock.now()) / 100) / 10;
      let lastError: unknown;
      for (const [index, client] of clients.entries()) {
        const permit = breakers[index]?.tryAcquire();
        if (permit === undefined) continue;
        const waitMs = deadlineAt - clock.now();
        const deadline = new AbortController();
        const timer = setTimeout(() => deadline.abort(), Math.max(0, waitMs));
        const started = performance.now();
        try {
          const result = await call(client, AbortSignal.any([deps.signal, deadline.signal]));
          const seconds = (performance.now() - started) / 1000;
          permit.answered(seconds * 1000);
          metrics.upstreamLatency(upstream.name, operation, seconds);
          return result;
        } catch (thrown) {
          const error =
            deadline.signal.aborted && !deps.signal.aborted
              ? new UpstreamUnavailableError("timeout", `no answer within ${windowSeconds} s`)
              : thrown;
          const kind = classifyUpstreamError(error);
          // A rate limit is an answer: the endpoint is up, it asks for patience.
          if (kind === "aborted") permit.abandoned();
          else if (isUnavailable(kind) && kind !== "rate-limited") {
            permit.failed(kind, describeError(error));
          } else permit.answered(performance.now() - started);
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
          // Past the deadline, or once the upstream asked for patience, no other endpoint gets a chance.
          if (deadline.signal.aborted || rateLimit.backOffRemainingMs() > 0) break;
        } finally {
          clearTimeout(timer);
        }
      }
      throw lastError ?? allOpen();
    },

    async askAs(credentials, settings, ask, isAnswer) {
      let result: Awaited<ReturnType<typeof ask>> | undefined;
      for (const endpoint of upstream.endpoints) {
        const client = createRegistryClient({
          registry: endpoint,
          timeoutMs: settings.timeoutMs,
          retry: { retries: 1 },
          ...(credentials === undefined ? {} : { credentials }),
          ...(cas.length > 0 ? { ca: cas } : {}),
        });
        try {
          result = await ask(client);
        } finally {
          await client.close();
        }
        if (isAnswer(result)) return result;
      }
      // connectUpstream refuses an upstream without endpoints: one was asked.
      return result as Awaited<ReturnType<typeof ask>>;
    },

    deadline: () => clock.now() + bounds.answerWithinMs,
    health: () => breakers.map((breaker) => breaker.health()),
    rateLimit,

    async close() {
      await Promise.allSettled(clients.map((client) => client.close()));
    },
  };
}
