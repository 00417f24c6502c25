/**
 * Tags lists are proxied from upstream and remembered; when upstream is unavailable, or has not
 * answered within `staleAfterMs`, the last list it answered is served (else the tags the cache
 * has resolved in the repository).
 */
import { describeError, type Logger } from "@regmirror/core";
import type { CacheRecords } from "./cache-records.js";
import { firstWithin } from "./first-within.js";
import type { PullThroughMetrics } from "./pull-through-metrics.js";
import type { UpstreamConnection } from "./upstream-connection.js";
import { classifyUpstreamError, isUnavailable, toClientError } from "./upstream-errors.js";

export interface TagLister {
  list(upstream: UpstreamConnection, repository: string): Promise<string[] | undefined>;
}

export function createTagLister(deps: {
  records: CacheRecords;
  logger: Logger;
  metrics: PullThroughMetrics;
  /** A list the cache knows is served when upstream is slower than this. */
  staleAfterMs: number;
}): TagLister {
  const { records, logger, metrics } = deps;

  async function fromUpstream(upstream: UpstreamConnection, repository: string) {
    const tags = await upstream.request("list-tags", async (client, signal) => {
      const found: string[] = [];
      for await (const tag of client.listTags(repository, { signal })) found.push(tag);
      return found;
    });
    try {
      await records.putTagList(upstream.name, repository, tags);
    } catch (error) {
      logger.warn({ error: describeError(error) }, "could not remember a tag list");
    }
    return tags;
  }

  /** What the cache can answer itself: the last list, else the tags it has resolved. */
  async function remembered(upstream: UpstreamConnection, repository: string) {
    const list = await records.getTagList(upstream.name, repository);
    if (list !== undefined) return list;
    const resolved = await records.tagsOf(upstream.name, repository);
    return resolved.length > 0 ? resolved : undefined;
  }

  function servedStale(upstream: UpstreamConnection, repository: string, reason: string) {
    metrics.servedStale(upstream.name, "tag-list");
    logger.warn(
      { upstream: upstream.name, repository, kind: reason },
      "upstream unavailable: serving the cached tag list",
    );
  }

  return {
    async list(upstream, repository) {
      const asked = fromUpstream(upstream, repository);
      // Handled below; until then a quick failure must not count as an unhandled rejection.
      asked.catch(() => {});
      const known = await remembered(upstream, repository);
      try {
        if (known === undefined) return await asked;
        const answer = await firstWithin(asked, deps.staleAfterMs);
        if (answer.settled) return answer.value;
        // Upstream is slow: it goes on, and its answer is remembered for the next client.
        servedStale(upstream, repository, "slow");
        return known;
      } catch (error) {
        const kind = classifyUpstreamError(error);
        if (kind === "not-found") return undefined;
        if (!isUnavailable(kind) || known === undefined) {
          throw toClientError(error, upstream.name, "NAME_UNKNOWN");
        }
        servedStale(upstream, repository, kind);
        return known;
      }
    },
  };
}
