/**
 * Warm hits (docs/adr/0032-warm-ahead.md): a blob that a warm request downloaded, then served
 * from the store to the first client that GETs it — a node pull that warm-ahead made fast.
 */
import { Counter, type Registry } from "prom-client";
import type { FinishedRequest } from "../logging/access-log.js";

/** Warmed digests remembered until their first pull; the oldest are forgotten beyond this. */
const maximumRemembered = 100_000;

export interface WarmHits {
  /** A warm request downloaded this blob. */
  warmed(digest: string): void;
  /** Told of every finished request (the daemon's onFinished). */
  observe(finished: FinishedRequest): void;
}

export function createWarmHits(registry: Registry): WarmHits {
  const waiting = new Set<string>();
  const warmedBlobs = new Counter({
    name: "regmirror_cache_warmed_blobs_total",
    help: "Blobs downloaded by warm requests (POST /admin/v1/warm)",
    registers: [registry],
  });
  const hits = new Counter({
    name: "regmirror_cache_warm_hits_total",
    help: "First client GETs of a blob a warm request downloaded, served from the store",
    registers: [registry],
  });
  return {
    warmed(digest) {
      warmedBlobs.inc();
      waiting.delete(digest);
      waiting.add(digest);
      if (waiting.size > maximumRemembered) {
        const oldest = waiting.values().next().value;
        if (oldest !== undefined) waiting.delete(oldest);
      }
    },
    observe({ entry, status }) {
      const served = entry.served;
      if (served?.endpoint !== "blob" || entry.method !== "GET" || entry.cache !== "hit") return;
      if (status !== 200 && status !== 206) return;
      if (waiting.delete(served.digest)) hits.inc();
    },
  };
}
