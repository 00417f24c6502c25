/**
 * Tags list, catalog and referrers.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-tags
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers
 * Catalog: https://github.com/distribution/distribution/blob/v2.8.2/docs/spec/api.md#catalog
 */
import { RegistryError } from "../model/errors.js";
import { OCI_INDEX } from "../model/media-types.js";
import { type HeaderValues, sendJson } from "./http-exchange.js";
import { methodNotAllowed, type RegistryExchange, requireDigest } from "./registry-exchange.js";

function requireRead(exchange: RegistryExchange): void {
  const method = exchange.request.method;
  if (method !== "GET" && method !== "HEAD") throw methodNotAllowed(["GET", "HEAD"]);
}

interface Page {
  items: string[];
  /** Query of the next page (`n` and `last`), when there is one. */
  next?: string;
}

/** Sorts, skips up to `last` and cuts at `n` (`n` absent: the default page size). */
function paginate(all: string[], exchange: RegistryExchange): Page {
  const { query, limits } = exchange;
  const rawCount = query.get("n");
  let count = limits.defaultPageSize;
  if (rawCount !== null) {
    if (!/^\d{1,9}$/.test(rawCount)) {
      throw new RegistryError("PAGINATION_NUMBER_INVALID", {
        detail: { reason: "n must be a non-negative integer" },
      });
    }
    count = Math.min(Number(rawCount), limits.maxPageSize);
  }
  const last = query.get("last");
  const sorted = [...new Set(all)].sort();
  const remaining = last === null ? sorted : sorted.filter((item) => item > last);
  const items = remaining.slice(0, count);
  const lastItem = items.at(-1);
  if (remaining.length > items.length && lastItem !== undefined) {
    return { items, next: `n=${count}&last=${encodeURIComponent(lastItem)}` };
  }
  return { items };
}

function linkHeader(path: string, page: Page): HeaderValues {
  return page.next === undefined ? {} : { Link: `<${path}?${page.next}>; rel="next"` };
}

export async function handleTags(exchange: RegistryExchange, repository: string) {
  requireRead(exchange);
  const tags = await exchange.storage.listTags(repository, exchange.context);
  if (tags === undefined) throw new RegistryError("NAME_UNKNOWN");
  const page = paginate(tags, exchange);
  sendJson(
    exchange.request,
    exchange.response,
    200,
    { name: repository, tags: page.items },
    linkHeader(`/v2/${repository}/tags/list`, page),
  );
}

export async function handleCatalog(exchange: RegistryExchange) {
  requireRead(exchange);
  const { storage } = exchange;
  if (storage.listRepositories === undefined) {
    throw new RegistryError("UNSUPPORTED", { message: "this registry has no catalog" });
  }
  const page = paginate(await storage.listRepositories(exchange.context), exchange);
  sendJson(
    exchange.request,
    exchange.response,
    200,
    { repositories: page.items },
    linkHeader("/v2/_catalog", page),
  );
}

export async function handleReferrers(
  exchange: RegistryExchange,
  repository: string,
  rawDigest: string,
) {
  requireRead(exchange);
  const digest = requireDigest(rawDigest, "the referrers path");
  const { storage, query, context } = exchange;
  let manifests = (await storage.listReferrers?.(repository, digest, context)) ?? [];
  const headers: HeaderValues = { "Content-Type": OCI_INDEX };
  const artifactType = query.get("artifactType");
  if (artifactType !== null) {
    manifests = manifests.filter((descriptor) => descriptor.artifactType === artifactType);
    headers["OCI-Filters-Applied"] = "artifactType";
  }
  sendJson(
    exchange.request,
    exchange.response,
    200,
    { schemaVersion: 2, mediaType: OCI_INDEX, manifests },
    headers,
  );
}
