/**
 * The Prometheus series of ADR 0038 (docs/adr/0038-s3-redirect-and-shared-sweeps.md): blob GETs
 * answered with a redirect to a presigned S3 URL, and the periodic sweeps, run or left to the
 * replica that sweeps a shared bucket.
 */
import { Counter, type Registry } from "prom-client";

export interface SharedStorageMetrics {
  blobRedirected(): void;
  storeSwept(outcome: "swept" | "skipped"): void;
}

export function registerSharedStorageMetrics(
  registry: Registry,
  prefix: string,
): SharedStorageMetrics {
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name: `${prefix}${name}`, help, labelNames, registers: [registry] });
  const redirects = counter(
    "blob_redirects_total",
    "Blob GETs answered with a 307 to a presigned URL of the blob's S3 object",
  );
  const sweeps = counter(
    "store_sweeps_total",
    "Periodic store sweeps: swept, or skipped because another replica sweeps the shared bucket",
    ["outcome"],
  );
  return {
    blobRedirected: () => redirects.inc(),
    storeSwept: (outcome) => sweeps.inc({ outcome }),
  };
}
