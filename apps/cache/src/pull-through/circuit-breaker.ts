import type { Clock } from "@regmirror/core";
/**
 * A circuit breaker per upstream endpoint (docs/adr/0016-upstream-bounds-and-circuit-breaker.md):
 * after `failures` requests in a row failed because the endpoint could not answer (network,
 * timeout, TLS, 5xx), it is "open": requests skip the endpoint at once instead of each paying
 * for timeouts and retries. After `openForMs` one request probes it ("half-open"); an answer
 * closes the circuit, a failure opens it again. Any answer (404 and 401 too) means the endpoint
 * is up.
 */

export type CircuitState = "closed" | "open" | "half-open";

/** What a status page shows of one upstream endpoint. */
export interface UpstreamEndpointHealth {
  upstream: string;
  /** The endpoint's base URL. */
  endpoint: string;
  state: CircuitState;
  /** Closed: the endpoint answered the last requests (the `regmirror_cache_upstream_up` gauge). */
  up: boolean;
  consecutiveFailures: number;
  lastError: { kind: string; message: string; at: number } | undefined;
  lastAnswerAt: number | undefined;
  /** Milliseconds to the endpoint's last answer (headers; the whole body for manifests). */
  lastLatencyMs: number | undefined;
  /** When the circuit last opened (it is open or half-open now). */
  openedAt: number | undefined;
  /** When an open circuit lets the next probe through. */
  retryAt: number | undefined;
}

export interface CircuitBreakerOptions {
  upstream: string;
  endpoint: string;
  /** Failed requests in a row that open the circuit; 0: it never opens. */
  failures: number;
  openForMs: number;
  clock: Clock;
  onOpen(health: UpstreamEndpointHealth): void;
  onClose(health: UpstreamEndpointHealth, downForMs: number): void;
}

/** Permission to send one request to the endpoint; report how it ended exactly once. */
export interface CircuitPermit {
  answered(latencyMs: number): void;
  failed(kind: string, message: string): void;
  /** Ended without telling anything about the endpoint (the caller gave up). */
  abandoned(): void;
}

export class CircuitBreaker {
  #state: CircuitState = "closed";
  #consecutiveFailures = 0;
  #probeInFlight = false;
  #lastError: UpstreamEndpointHealth["lastError"];
  #lastAnswerAt: number | undefined;
  #lastLatencyMs: number | undefined;
  #openedAt: number | undefined;
  #retryAt: number | undefined;

  constructor(private readonly options: CircuitBreakerOptions) {}

  /** A permit to send a request now, or undefined while the circuit is open. */
  tryAcquire(): CircuitPermit | undefined {
    let probe = false;
    if (this.#state !== "closed") {
      if (this.#probeInFlight || this.options.clock.now() < (this.#retryAt ?? 0)) return undefined;
      this.#state = "half-open";
      this.#probeInFlight = true;
      probe = true;
    }
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      if (probe) this.#probeInFlight = false;
      outcome();
    };
    return {
      answered: (latencyMs) => settle(() => this.#answered(latencyMs)),
      failed: (kind, message) => settle(() => this.#failed(kind, message)),
      abandoned: () => settle(() => {}),
    };
  }

  health(): UpstreamEndpointHealth {
    return {
      upstream: this.options.upstream,
      endpoint: this.options.endpoint,
      state: this.#state,
      up: this.#state === "closed",
      consecutiveFailures: this.#consecutiveFailures,
      lastError: this.#lastError,
      lastAnswerAt: this.#lastAnswerAt,
      lastLatencyMs: this.#lastLatencyMs,
      openedAt: this.#openedAt,
      retryAt: this.#retryAt,
    };
  }

  #answered(latencyMs: number): void {
    const now = this.options.clock.now();
    this.#lastAnswerAt = now;
    this.#lastLatencyMs = latencyMs;
    this.#consecutiveFailures = 0;
    if (this.#state === "closed") return;
    const downForMs = now - (this.#openedAt ?? now);
    this.#state = "closed";
    this.#retryAt = undefined;
    this.options.onClose(this.health(), downForMs);
    this.#openedAt = undefined;
  }

  #failed(kind: string, message: string): void {
    const now = this.options.clock.now();
    this.#lastError = { kind, message, at: now };
    this.#consecutiveFailures += 1;
    // A request sent before the circuit opened has failed too: it is open already.
    if (this.#state === "open") return;
    if (this.#state === "half-open") {
      // The probe failed: stay down for another period, without a second "opened" log line.
      this.#state = "open";
      this.#retryAt = now + this.options.openForMs;
      return;
    }
    if (this.options.failures > 0 && this.#consecutiveFailures >= this.options.failures) {
      this.#state = "open";
      this.#openedAt = now;
      this.#retryAt = now + this.options.openForMs;
      this.options.onOpen(this.health());
    }
  }
}
