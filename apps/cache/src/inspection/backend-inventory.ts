/** The inventory of an open cache backend: its store, its records and its router. */
import type { Logger } from "@regmirror/core";
import type { EffectiveUpstream } from "@regmirror/schemas";
import type { CacheBackend } from "../daemon/open-cache-backend.js";
import { createCacheRecords } from "../pull-through/index.js";
import { type CacheInventory, createCacheInventory } from "./cache-inventory.js";

/** `registry/repository` as clients name it: the upstream's first host, else its name. */
export function displayNameOf(
  upstreams: readonly EffectiveUpstream[],
): (upstream: string, repository: string) => string {
  const hostOf = new Map(upstreams.map((upstream) => [upstream.name, upstream.hosts[0]]));
  return (upstream, repository) => `${hostOf.get(upstream) ?? upstream}/${repository}`;
}

export function inventoryOf(
  backend: CacheBackend,
  upstreams: readonly EffectiveUpstream[],
  logger: Logger,
): CacheInventory {
  return createCacheInventory({
    blobStore: backend.blobStore,
    records: createCacheRecords(backend.blobStore.metadata),
    router: {
      route(path) {
        const routed = backend.storage.router.route(path);
        return { upstream: routed.upstream.name, repository: routed.repository };
      },
      displayName: displayNameOf(upstreams),
    },
    downloads: () => backend.storage.downloads(),
    logger,
  });
}
