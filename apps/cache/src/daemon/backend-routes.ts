/**
 * What the process that holds the backend serves besides the stored content (the only process,
 * or the first of several workers): the pull-through registry handler, the admin API with
 * warm-ahead, and the status page. create-cache-daemon.ts loads this module only there, so a
 * worker other than the first never loads the pull-through client and what it needs
 * (docs/adr/0040-memory-per-worker.md).
 */
import type { RegistryHandler } from "@regmirror/oci-distribution";
import type { EffectiveCacheConfig } from "@regmirror/schemas";
import type { Logger } from "pino";
import type { ClientAuth } from "../auth/client-auth.js";
import { createPassThroughClientAuth } from "../auth/pass-through-client-auth.js";
import { createAdminApi } from "../inspection/admin-api.js";
import { inventoryOf } from "../inspection/backend-inventory.js";
import { createWarmHits } from "../inspection/warm-hits.js";
import type { FinishedRequest } from "../logging/access-log.js";
import type { RequestEntries } from "../logging/request-entries.js";
import type { CacheMetrics } from "../metrics/cache-metrics.js";
import { daemonStatusPage } from "../status/daemon-status-page.js";
import type { StatusSources } from "../status/status-snapshot.js";
import { warmImage } from "../warm/warm-images.js";
import { createCacheRegistryHandler } from "./cache-registry-handler.js";
import type { OwnRoute } from "./cache-request-handler.js";
import { type CacheBackend, openCacheBackend } from "./open-cache-backend.js";

// Loaded with this module, only where there is a backend.
export { createPassThroughClientAuth, openCacheBackend };

/** One warm request through the admin API may take this long (a large image, a slow upstream). */
const warmTimeoutMs = 30 * 60_000;

export function createBackendRoutes(options: {
  config: EffectiveCacheConfig;
  backend: CacheBackend;
  auth: ClientAuth;
  metrics: CacheMetrics;
  entries: RequestEntries;
  /** The status page's counters: this process's, or every worker's merged. */
  statusCounts: StatusSources["counts"];
  logger: Logger;
  registryLogger: Logger;
}): {
  registryHandler: RegistryHandler;
  ownRoutes: OwnRoute[];
  onFinished: (finished: FinishedRequest) => void;
} {
  const { config, backend, metrics, logger } = options;
  const registryHandler = createCacheRegistryHandler({
    storage: backend.storage,
    auth: options.auth,
    peerSecret: config.peers?.secret.reveal(),
    entries: options.entries,
    logger: options.registryLogger,
  });
  const status = config.statusPage.enabled
    ? daemonStatusPage(config, backend, options.statusCounts)
    : undefined;
  const warmHits = createWarmHits(metrics.registry);
  const ownRoutes = [
    createAdminApi({
      inventory: inventoryOf(backend, config.upstreams, logger.child({ component: "admin" })),
      credential: config.admin,
      // Warm-ahead: the fill goes on when the asker goes away, as a pull's does; the bound
      // protects against a hung upstream (real time on purpose, ADR 0016).
      warm: (image) =>
        warmImage({
          storage: backend.storage,
          image,
          signal: AbortSignal.timeout(warmTimeoutMs),
          touchIfStored: (digest) => backend.blobStore.touch(digest),
          onProgress: ({ finishedBlob }) => {
            if (finishedBlob && !finishedBlob.alreadyCached) warmHits.warmed(finishedBlob.digest);
          },
        }),
    }),
    ...(status === undefined ? [] : [status.page]),
  ];
  const onFinished = (finished: FinishedRequest) => {
    status?.pulls.observe(finished);
    warmHits.observe(finished);
  };
  return { registryHandler, ownRoutes, onFinished };
}
