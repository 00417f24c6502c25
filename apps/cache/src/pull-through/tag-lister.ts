/**
 * Tags lists are proxied from upstream and remembered; when upstream is unavailable the last
 * list it answered is served (else the tags the cache has resolved in the repository).
 */
import type { CacheRecords } from "./cache-records.js";
import { describeError, type PullThroughLogger } from "./pull-through-logger.js";
import type { PullThroughMetrics } from "./pull-through-metrics.js";
import { classifyUpstreamError, isUnavailable, toClientError } from "./upstream-errors.js";
import type { UpstreamRegistry } from "./upstream-registry.js";

export interface TagLister {
  list(upstream: UpstreamRegistry, repository: string): Promise<string[] | undefined>;
}

export function createTagLister(deps: {
  records: CacheRecords;
  logger: PullThroughLogger;
  metrics: PullThroughMetrics;
  signal: AbortSignal;
}): TagLister {
  const { records, logger, metrics } = deps;
  return {
    async list(upstream, repository) {
      try {
        const tags = await upstream.request("list-tags", async (client) => {
          const found: string[] = [];
          for await (const tag of client.listTags(repository, { signal: deps.signal }))
            found.push(tag);
          return found;
        });
        try {
          await records.putTagList(upstream.name, repository, tags);
        } catch (error) {
          logger.warn({ error: describeError(error) }, "could not remember a tag list");
        }
        return tags;
      } catch (error) {
        const kind = classifyUpstreamError(error);
        if (kind === "not-found") return undefined;
        if (!isUnavailable(kind)) throw toClientError(error, upstream.name, "NAME_UNKNOWN");
        const remembered = await records.getTagList(upstream.name, repository);
        const resolved = remembered ?? (await records.tagsOf(upstream.name, repository));
        if (remembered === undefined && resolved.length === 0) {
          throw toClientError(error, upstream.name, "NAME_UNKNOWN");
        }
        metrics.servedStale(upstream.name, "tag-list");
        logger.warn(
          { upstream: upstream.name, repository, kind },
          "upstream unavailable: serving the cached tag list",
        );
        return resolved;
      }
    },
  };
}
