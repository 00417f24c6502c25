/** The status page of a running daemon: its snapshot sources wired to the backend and metrics. */
import type { EffectiveCacheConfig } from "@regmirror/schemas";
import type { OwnRoute } from "../daemon/cache-request-handler.js";
import type { CacheBackend } from "../daemon/open-cache-backend.js";
import { displayNameOf } from "../inspection/backend-inventory.js";
import { createPullCounter, type PullCounter } from "./pull-counter.js";
import { createStatusPage } from "./status-page.js";
import { type StatusSources, takeStatusSnapshot } from "./status-snapshot.js";

/** Images in the page's "most pulled" list. */
const topImageCount = 10;

export function daemonStatusPage(
  config: EffectiveCacheConfig,
  backend: CacheBackend,
  /** The counters: this process's, or every worker's merged (countsOfWorkers). */
  counts: StatusSources["counts"],
): { page: OwnRoute; pulls: PullCounter } {
  const displayName = displayNameOf(config.upstreams);
  const pulls = createPullCounter((repositoryPath) => {
    try {
      const routed = backend.storage.router.route(repositoryPath);
      return displayName(routed.upstream.name, routed.repository);
    } catch {
      return undefined; // no upstream serves it: the request failed anyway
    }
  });
  const page = createStatusPage({
    path: config.statusPage.path,
    private: config.auth.mode !== "none",
    credential: config.admin,
    snapshot: () =>
      takeStatusSnapshot({
        counts,
        metricPrefix: "regmirror_cache_",
        blobStore: backend.blobStore,
        downloads: () => backend.storage.downloads(),
        upstreamHealth: () => backend.storage.upstreamHealth(),
        upstreamRateLimits: () => backend.storage.upstreamRateLimits(),
        upstreamNames: config.upstreams.map((upstream) => upstream.name),
        displayName,
        topImages: () => pulls.top(topImageCount),
        sizeCapBytes: config.sizeCap?.maxBytes ?? null,
        blobTtlMs: config.blobTtlMs,
        peers: backend.peers,
        now: Date.now,
      }),
  });
  return { page, pulls };
}
