/**
 * What the cache did for one request — served it from the store (hit), fetched it from upstream
 * (miss), answered from the last known state because upstream failed (stale), or joined a
 * download another request had started (coalesced) — for the access log and the `X-Cache`
 * response header. The pull-through storage reports these through its metrics hooks; an
 * AsyncLocalStorage ties each report to the request it happened in.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { PullThroughMetrics } from "../pull-through/index.js";

export type CacheOutcome = "hit" | "miss" | "stale" | "coalesced";

export interface RequestCacheState {
  outcome: CacheOutcome | undefined;
  /** True once an upstream request was made for this request. */
  askedUpstream: boolean;
}

const currentRequest = new AsyncLocalStorage<RequestCacheState>();

// When one request sees several (a tag checked upstream, then its manifest fetched), the one
// that says most about upstream's part wins.
const precedence: Record<CacheOutcome, number> = { hit: 0, miss: 1, coalesced: 2, stale: 3 };

function record(outcome: CacheOutcome): void {
  const state = currentRequest.getStore();
  if (state === undefined) return;
  if (state.outcome === undefined || precedence[outcome] > precedence[state.outcome]) {
    state.outcome = outcome;
  }
}

export function newRequestCacheState(): RequestCacheState {
  return { outcome: undefined, askedUpstream: false };
}

/** Runs `work(...args)` (the handling of one request) so that the storage's reports reach `state`. */
export function runWithCacheState<T, A extends unknown[]>(
  state: RequestCacheState,
  work: (...args: A) => T,
  ...args: A
): T {
  return currentRequest.run(state, work, ...args);
}

/** The pull-through hooks, also recording each report on the request it happened in. */
export function recordingCacheOutcomes(hooks: PullThroughMetrics): PullThroughMetrics {
  return {
    ...hooks,
    cacheHit(kind) {
      record("hit");
      hooks.cacheHit(kind);
    },
    cacheMiss(kind) {
      record("miss");
      hooks.cacheMiss(kind);
    },
    coalescedWaiter(kind) {
      record("coalesced");
      hooks.coalescedWaiter(kind);
    },
    servedStale(upstream, kind) {
      record("stale");
      hooks.servedStale(upstream, kind);
    },
    upstreamLatency(upstream, operation, seconds) {
      const state = currentRequest.getStore();
      if (state !== undefined) state.askedUpstream = true;
      hooks.upstreamLatency(upstream, operation, seconds);
    },
  };
}

/**
 * The outcome to report for a finished registry request: what the storage reported; else a
 * request that asked upstream was a miss, and content answered without asking upstream (a HEAD
 * of a stored blob) a hit. Undefined for requests the cache had no part in.
 */
export function outcomeOf(
  state: RequestCacheState,
  route: string,
  status: number,
): CacheOutcome | undefined {
  if (state.outcome !== undefined) return state.outcome;
  if (state.askedUpstream) return "miss";
  if ((route === "blob" || route === "manifest") && status < 400) return "hit";
  return undefined;
}
