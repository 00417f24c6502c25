/**
 * The counters the status page shows, read back from the daemon's Prometheus registry: the page
 * and /metrics show the same numbers because they are the same counters.
 */
import type { Registry } from "prom-client";

export interface CacheTotals {
  hits: { blob: number; manifest: number };
  misses: { blob: number; manifest: number };
  coalescedWaiters: number;
  /** Blob bytes streamed to clients from the store. */
  bytesServedFromCache: number;
  /** Response body bytes of blob requests, whatever their source (store or a download). */
  blobBytesServed: number;
  /** Bytes received from upstreams, all of them. */
  bytesFromUpstream: number;
  servedStale: number;
  /** Registry requests answered, by status class (2xx, 4xx, 5xx...). */
  requestsByStatus: Record<string, number>;
  evictions: Record<string, number>;
}

type Sample = { value: number; labels: Record<string, string | number | undefined> };

async function samples(registry: Registry, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  const { values } = await metric.get();
  return values as Sample[];
}

async function sum(
  registry: Registry,
  name: string,
  where: (labels: Sample["labels"]) => boolean = () => true,
): Promise<number> {
  return (await samples(registry, name))
    .filter((sample) => where(sample.labels))
    .reduce((total, sample) => total + sample.value, 0);
}

async function byLabel(
  registry: Registry,
  name: string,
  label: string,
  key: (value: string) => string = (value) => value,
): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const sample of await samples(registry, name)) {
    const value = key(String(sample.labels[label] ?? ""));
    totals[value] = (totals[value] ?? 0) + sample.value;
  }
  return totals;
}

export async function readCacheTotals(registry: Registry, prefix: string): Promise<CacheTotals> {
  const kind = (value: string) => (labels: Sample["labels"]) => labels.kind === value;
  return {
    hits: {
      blob: await sum(registry, `${prefix}hits_total`, kind("blob")),
      manifest: await sum(registry, `${prefix}hits_total`, kind("manifest")),
    },
    misses: {
      blob: await sum(registry, `${prefix}misses_total`, kind("blob")),
      manifest: await sum(registry, `${prefix}misses_total`, kind("manifest")),
    },
    coalescedWaiters: await sum(registry, `${prefix}coalesced_waiters_total`),
    bytesServedFromCache: await sum(registry, `${prefix}bytes_served_from_cache_total`),
    blobBytesServed: await sum(
      registry,
      `${prefix}http_response_bytes_total`,
      (labels) => labels.route === "blob",
    ),
    bytesFromUpstream: await sum(registry, `${prefix}upstream_bytes_total`),
    servedStale: await sum(registry, `${prefix}served_stale_total`),
    requestsByStatus: await byLabel(
      registry,
      `${prefix}http_requests_total`,
      "status",
      (status) => `${status.slice(0, 1)}xx`,
    ),
    evictions: await byLabel(registry, `${prefix}evictions_total`, "reason"),
  };
}
