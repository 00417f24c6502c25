/**
 * Tag lists and the catalog, page by page along the `Link: <...>; rel="next"` header, as async
 * iterators of names. https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-tags
 */

import type { RegistryErrorCode } from "../model/errors.js";
import { RegistryClientError } from "./client-errors.js";
import { checkRepository } from "./input-checks.js";
import { nextLinkUrl } from "./link-header.js";
import { redactUrl } from "./redact-url.js";
import { CATALOG_SCOPE, repositoryScope } from "./registry-auth.js";
import type { RegistrySession } from "./registry-session.js";
import { readBodyBytes } from "./response-body.js";

export interface ListOptions {
  /** Ask for pages of this many entries (`n`); the registry may answer fewer. */
  pageSize?: number;
  /** Start after this entry (`last`). */
  last?: string;
  signal?: AbortSignal;
}

/** A page of a list is JSON of a few MiB at most. */
const MAXIMUM_PAGE_BYTES = 16 * 1024 * 1024;

export function createListing(session: RegistrySession) {
  async function* pages(
    first: URL,
    scopes: string[],
    field: "tags" | "repositories",
    notFoundCode: RegistryErrorCode,
    options: ListOptions,
  ): AsyncGenerator<string> {
    if (options.pageSize !== undefined) {
      if (!Number.isSafeInteger(options.pageSize) || options.pageSize <= 0) {
        throw new RegistryClientError(
          "INVALID_OPTIONS",
          `pageSize must be a positive whole number, got ${options.pageSize}`,
        );
      }
      first.searchParams.set("n", String(options.pageSize));
    }
    if (options.last !== undefined) first.searchParams.set("last", options.last);
    const seen = new Set<string>();
    let url: URL | undefined = first;
    while (url !== undefined) {
      seen.add(url.href);
      const response = await session.expect(
        {
          target: url,
          method: "GET",
          scopes,
          signal: options.signal,
          headers: { accept: "application/json" },
        },
        [200],
        notFoundCode,
      );
      let names: unknown;
      try {
        const body = JSON.parse(
          (await readBodyBytes(response, MAXIMUM_PAGE_BYTES)).toString("utf8"),
        );
        names = (body as Record<string, unknown> | null)?.[field];
      } catch {
        throw new RegistryClientError(
          "INVALID_RESPONSE",
          `GET ${redactUrl(url)}: the list is not JSON`,
        );
      }
      // distribution answers `"tags": null` for a repository without tags.
      if (names !== null && names !== undefined) {
        if (!Array.isArray(names) || names.some((name) => typeof name !== "string")) {
          throw new RegistryClientError(
            "INVALID_RESPONSE",
            `GET ${redactUrl(url)}: "${field}" is not a list of names`,
          );
        }
        yield* names as string[];
      }
      const next = nextLinkUrl(response.headers.link, response.url);
      // Only follow links on the registry itself, and never in a circle.
      url =
        next && next.origin === session.baseUrl.origin && !seen.has(next.href) ? next : undefined;
    }
  }

  return {
    async *listTags(repository: string, options: ListOptions = {}): AsyncGenerator<string> {
      checkRepository(repository);
      const first = new URL(`/v2/${repository}/tags/list`, session.baseUrl);
      yield* pages(first, [repositoryScope(repository, ["pull"])], "tags", "NAME_UNKNOWN", options);
    },
    listRepositories(options: ListOptions = {}): AsyncIterable<string> {
      const first = new URL("/v2/_catalog", session.baseUrl);
      return pages(first, [CATALOG_SCOPE], "repositories", "UNSUPPORTED", options);
    },
  };
}
