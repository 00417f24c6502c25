/** The inventory of an open cache backend: its store, its records and its router. */
import type { EffectiveUpstream } from "@regmirror/schemas";
import type { CacheBackend } from "../daemon/open-cache-backend.js";
import { createCacheRecords, type PullThroughLogger } from "../pull-through/index.js";
import { type CacheInventory, createCacheInventory } from "./cache-inventory.js";

export function inventoryOf(
  backend: CacheBackend,
  upstreams: readonly EffectiveUpstream[],
  logger: PullThroughLogger,
): CacheInventory {
  const hostOf = new Map(upstreams.map((upstream) => [upstream.name, upstream.hosts[0]]));
  return createCacheInventory({
    blobStore: backend.blobStore,
    records: createCacheRecords(backend.blobStore.metadata),
    router: {
      route(path) {
        const routed = backend.storage.router.route(path);
        return { upstream: routed.upstream.name, repository: routed.repository };
      },
      displayName: (upstream, repository) => `${hostOf.get(upstream) ?? upstream}/${repository}`,
    },
    downloads: () => backend.storage.downloads(),
    logger,
  });
}
