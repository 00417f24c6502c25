/**
 * Maps a request path to an endpoint of the distribution spec
 * (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#endpoints).
 * Repository names may contain `/`, so the last endpoint marker in the path wins.
 */
export type RegistryRoute =
  | { endpoint: "base" }
  | { endpoint: "catalog" }
  | { endpoint: "tags"; repository: string }
  | { endpoint: "manifest"; repository: string; reference: string }
  | { endpoint: "blob"; repository: string; digest: string }
  | { endpoint: "upload"; repository: string; uploadId: string | undefined }
  | { endpoint: "referrers"; repository: string; digest: string };

interface RepositoryRoute {
  pattern: RegExp;
  build: (repository: string, last: string | undefined) => RegistryRoute;
}

const repositoryRoutes: readonly RepositoryRoute[] = [
  {
    pattern: /^\/v2\/(.+)\/tags\/list$/,
    build: (repository) => ({ endpoint: "tags", repository }),
  },
  {
    pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    build: (repository, reference = "") => ({ endpoint: "manifest", repository, reference }),
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads(?:\/([^/]*))?$/,
    build: (repository, id) => ({ endpoint: "upload", repository, uploadId: id ? id : undefined }),
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
    build: (repository, digest = "") => ({ endpoint: "blob", repository, digest }),
  },
  {
    pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/,
    build: (repository, digest = "") => ({ endpoint: "referrers", repository, digest }),
  },
];

/** undefined when the path is no endpoint of the spec. `path` excludes the query string. */
export function matchRegistryRoute(path: string): RegistryRoute | undefined {
  if (path === "/v2/" || path === "/v2") return { endpoint: "base" };
  if (path === "/v2/_catalog") return { endpoint: "catalog" };
  // An indexed loop over objects: destructuring pairs showed as allocation per request (ADR 0035).
  for (let index = 0; index < repositoryRoutes.length; index += 1) {
    const { pattern, build } = repositoryRoutes[index] as RepositoryRoute;
    const match = pattern.exec(path);
    if (match?.[1] !== undefined) return build(match[1], match[2]);
  }
  return undefined;
}
