/**
 * The referrers API through the cache (docs/adr/0018-referrers-through-the-cache.md): asked of
 * upstream on every request, since referrers (signatures, SBOMs) are added after an image is
 * pushed; the answer is remembered and served when upstream is unavailable. An upstream without
 * the API (it answers 404, as distribution 2.8 does) gets that answer passed on: 404, so clients
 * fall back to the referrers tag schema, which the cache serves like any other tag.
 */
import { describeError, type Logger } from "@regmirror/core";
import { type Descriptor, RegistryError } from "@regmirror/oci-distribution";
import type { CacheRecords, ReferrersRecord } from "./cache-records.js";
import type { PullThroughMetrics } from "./pull-through-metrics.js";
import type { UpstreamConnection } from "./upstream-connection.js";
import { classifyUpstreamError, isUnavailable, toClientError } from "./upstream-errors.js";

export interface ReferrersLister {
  /** Descriptors of the manifests whose subject is `subject`; 404 when upstream has no API. */
  list(upstream: UpstreamConnection, repository: string, subject: string): Promise<Descriptor[]>;
}

function noReferrersApi(upstream: string): RegistryError {
  return new RegistryError("UNSUPPORTED", {
    status: 404,
    message: `upstream registry ${upstream} has no referrers API: use the referrers tag schema (tag <algorithm>-<hex> of the subject digest)`,
    detail: { upstream },
  });
}

function answerFrom(record: ReferrersRecord, upstream: string): Descriptor[] {
  if (!record.api) throw noReferrersApi(upstream);
  return record.manifests;
}

export function createReferrersLister(deps: {
  records: CacheRecords;
  logger: Logger;
  metrics: PullThroughMetrics;
}): ReferrersLister {
  const { records, logger, metrics } = deps;

  async function remember(
    upstream: string,
    repository: string,
    subject: string,
    record: ReferrersRecord,
  ) {
    try {
      await records.putReferrers(upstream, repository, subject, record);
    } catch (error) {
      logger.warn({ error: describeError(error) }, "could not remember a referrers answer");
    }
  }

  return {
    async list(upstream, repository, subject) {
      let record: ReferrersRecord;
      try {
        const manifests = await upstream.request("list-referrers", (client, signal) =>
          client.listReferrers(repository, subject, { tagSchemaFallback: false, signal }),
        );
        record = { api: true, manifests };
      } catch (error) {
        const kind = classifyUpstreamError(error);
        if (kind === "not-found") {
          record = { api: false };
        } else {
          const remembered = isUnavailable(kind)
            ? await records.getReferrers(upstream.name, repository, subject)
            : undefined;
          if (remembered === undefined) throw toClientError(error, upstream.name, "NAME_UNKNOWN");
          metrics.servedStale(upstream.name, "referrers");
          logger.warn(
            { upstream: upstream.name, repository, subject, kind },
            "upstream unavailable: serving the cached referrers answer",
          );
          return answerFrom(remembered, upstream.name);
        }
      }
      await remember(upstream.name, repository, subject, record);
      return answerFrom(record, upstream.name);
    },
  };
}
