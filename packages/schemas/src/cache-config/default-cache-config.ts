// What a key left out of the cache configuration means.
import { dockerHubEndpoint, dockerHubHosts } from "./docker-hub.js";
import type { EffectiveUpstream } from "./effective-cache-config.js";

// What a key that is left out means. With no file at all, these make a Docker Hub mirror that
// stores under ./data and listens on 0.0.0.0:5000 (docs/adr/0006-cache-config-format.md).

export const cacheConfigDefaults = {
  listen: { host: "0.0.0.0", port: 5000 },
  rootDirectory: "./data",
  shutdownGraceMs: 30_000,
  /** One process; more serve the same listener and store (docs/adr/0036-worker-processes.md). */
  workers: 1,
  logLevel: "info",
  /** Distribution's proxy default (168h): long enough to ride out a week-long upstream outage. */
  blobTtlMs: 7 * 24 * 3_600_000,
  /** How long a presigned blob URL works when redirects are on (ADR 0038). */
  blobRedirectExpiryMs: 5 * 60_000,
  /** Always ask upstream for tags (a HEAD, which Docker Hub does not count against the limit). */
  tagFreshnessMs: 0,
  /** Well inside the 5 s a pulling client should wait for content the cache holds. */
  staleAfterMs: 3_000,
  /** Distribution's clients time out later; a clear 503 now beats a hang. */
  uncachedMs: 30_000,
  circuitBreakerFailures: 3,
  circuitBreakerOpenForMs: 30_000,
  lowWaterPercent: 90,
  tokenTtlMs: 5 * 60_000,
  passThroughDecisionTtlMs: 60_000,
  authRealm: "regmirror",
  metricsPath: "/metrics",
  s3Region: "us-east-1",
  /** An owner that has not started answering by then is passed over for the next replica. */
  peerTimeoutMs: 5_000,
  peerMembersIntervalMs: 5_000,
  kubernetesApiServer: "https://kubernetes.default.svc",
  serviceAccountDirectory: "/var/run/secrets/kubernetes.io/serviceaccount",
  statusPagePath: "/status",
  adminUsername: "admin",
  /** Below 10 % of Docker Hub's 100 pulls, a known tag is served rather than a pull spent. */
  rateLimitHeadroomPercent: 10,
  /** After a 429 that gives no Retry-After. */
  rateLimitBackOffMs: 60_000,
} as const;

export const dockerHubUpstream: EffectiveUpstream = {
  name: "docker-hub",
  hosts: [...dockerHubHosts],
  endpoints: [dockerHubEndpoint],
  credentials: { kind: "none" },
  caFiles: [],
};
