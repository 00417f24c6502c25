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

const repositoryRoutes: [
  RegExp,
  (repository: string, last: string | undefined) => RegistryRoute,
][] = [
  [/^\/v2\/(.+)\/tags\/list$/, (repository) => ({ endpoint: "tags", repository })],
  [
    /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    (repository, reference = "") => ({ endpoint: "manifest", repository, reference }),
  ],
  [
    /^\/v2\/(.+)\/blobs\/uploads(?:\/([^/]*))?$/,
    (repository, id) => ({ endpoint: "upload", repository, uploadId: id ? id : undefined }),
  ],
  [
    /^\/v2\/(.+)\/blobs\/([^/]+)$/,
    (repository, digest = "") => ({ endpoint: "blob", repository, digest }),
  ],
  [
    /^\/v2\/(.+)\/referrers\/([^/]+)$/,
    (repository, digest = "") => ({ endpoint: "referrers", repository, digest }),
  ],
];

/** undefined when the path is no endpoint of the spec. `path` excludes the query string. */
export function matchRegistryRoute(path: string): RegistryRoute | undefined {
  if (path === "/v2/" || path === "/v2") return { endpoint: "base" };
  if (path === "/v2/_catalog") return { endpoint: "catalog" };
  for (const [pattern, build] of repositoryRoutes) {
    const match = pattern.exec(path);
    if (match?.[1] !== undefined) return build(match[1], match[2]);
  }
  return undefined;
}
