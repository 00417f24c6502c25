/**
 * Which upstream a request is for, from the repository path the registry handler hands the
 * storage: `/v2/<registry>/<repo>` names a configured registry by host (or alias), anything
 * else goes to the default upstream. A registry that is not configured is refused: the cache is
 * never an open proxy. Docker Hub names get `library/` as Docker and containerd do.
 *
 * Repository names may not contain `:`, so a host with a port travels in the path as
 * `host_port` (`127.0.0.1:5000` → `127.0.0.1_5000`); host names never contain `_`, so the form
 * is unambiguous. `routeWithNamespace` puts containerd's `?ns=` there in that form.
 *
 * A routed name must itself be a valid repository name: `library/` makes a one-component name
 * of 248–255 characters too long, and such a name is refused here (NAME_INVALID) before any
 * store lookup or upstream check — a name the upstream cannot be asked about cannot be allowed.
 */

import {
  isValidRegistryHost,
  RegistryError,
  repositoryNameProblem,
} from "@regmirror/oci-distribution";
import { isDockerHubHost } from "@regmirror/schemas";

export interface RoutableUpstream {
  readonly name: string;
  /** Registry hosts clients use for it, lowercase (`docker.io`, `registry.example:5000`). */
  readonly hosts: readonly string[];
}

export interface RoutedRepository<U extends RoutableUpstream> {
  upstream: U;
  /** The repository at the upstream: `library/nginx`. */
  repository: string;
}

export interface RegistryRouter<U extends RoutableUpstream> {
  /**
   * The upstream and upstream repository for a repository path; RegistryError when refused:
   * DENIED for a registry that is not configured, NAME_INVALID when the routed name is invalid.
   */
  route(repositoryPath: string): RoutedRepository<U>;
  /**
   * The path segment that names the registry `host` (from `?ns=` or a path prefix with a
   * port); NAME_INVALID when it is no host, DENIED when it is not configured.
   */
  segmentForHost(host: string): string;
  /** How a client addresses an upstream repository through the cache (for the catalog). */
  clientRepositoryName(upstream: U, repository: string): string;
}

/** `127.0.0.1:5000` → `127.0.0.1_5000`: the form of a host that is valid in a repository name. */
export function hostPathSegment(host: string): string {
  return host.toLowerCase().replace(":", "_");
}

/** Docker's rule: a first path component with a dot (or `localhost`) is a registry host. */
function looksLikeRegistryHost(segment: string): boolean {
  return segment.includes(".") || /^localhost(?:_\d+)?$/.test(segment);
}

export function servesDockerHub(upstream: RoutableUpstream): boolean {
  return upstream.hosts.some((host) => isDockerHubHost(host));
}

const knownRoutesKept = 1024;

function notConfigured(registry: string): RegistryError {
  return new RegistryError("DENIED", {
    message: `registry ${registry} is not configured on this cache`,
    detail: { registry },
  });
}

export function createRegistryRouter<U extends RoutableUpstream>(options: {
  upstreams: readonly U[];
  /** Name of the upstream for paths that name no registry; null: such paths are refused. */
  defaultUpstream: string | null;
}): RegistryRouter<U> {
  const bySegment = new Map<string, U>();
  for (const upstream of options.upstreams) {
    for (const host of upstream.hosts) bySegment.set(hostPathSegment(host), upstream);
  }
  const fallback =
    options.defaultUpstream === null
      ? undefined
      : options.upstreams.find((upstream) => upstream.name === options.defaultUpstream);
  if (options.defaultUpstream !== null && fallback === undefined) {
    throw new TypeError(
      `the default upstream ${options.defaultUpstream} is not among the upstreams`,
    );
  }

  const routed = (upstream: U, repositoryPath: string): RoutedRepository<U> => {
    const repository =
      servesDockerHub(upstream) && !repositoryPath.includes("/")
        ? `library/${repositoryPath}`
        : repositoryPath;
    const problem = repositoryNameProblem(repository);
    if (problem !== undefined) {
      throw new RegistryError("NAME_INVALID", {
        message: `the repository name at upstream ${upstream.name} would be invalid: ${problem}`,
        detail: { upstream: upstream.name, reason: problem },
      });
    }
    return { upstream, repository };
  };

  const resolve = (repositoryPath: string): RoutedRepository<U> => {
    const slash = repositoryPath.indexOf("/");
    if (slash > 0) {
      const first = repositoryPath.slice(0, slash);
      const named = bySegment.get(first);
      if (named !== undefined) {
        return routed(named, repositoryPath.slice(slash + 1));
      }
      if (looksLikeRegistryHost(first)) throw notConfigured(first.replace(/_(\d+)$/, ":$1"));
    } else if (bySegment.has(repositoryPath)) {
      throw new RegistryError("NAME_INVALID", {
        message: `name a repository after the registry ${repositoryPath}`,
        detail: { repository: repositoryPath },
      });
    }
    if (fallback === undefined) {
      throw new RegistryError("DENIED", {
        message:
          "this cache has no default upstream: name the registry (/v2/<registry>/<repository> or ?ns=<registry>)",
      });
    }
    return routed(fallback, repositoryPath);
  };

  // Every request routes its repository, and clients ask for the same few again and again:
  // the routes found are kept (the configuration does not change while the cache runs), at
  // most `knownRoutesKept`, all dropped when full. Refusals are not kept.
  const knownRoutes = new Map<string, RoutedRepository<U>>();

  return {
    route(repositoryPath) {
      let known = knownRoutes.get(repositoryPath);
      if (known === undefined) {
        known = resolve(repositoryPath);
        if (knownRoutes.size >= knownRoutesKept) knownRoutes.clear();
        knownRoutes.set(repositoryPath, known);
      }
      return known;
    },

    segmentForHost(host) {
      if (!isValidRegistryHost(host) || host.startsWith("[")) {
        throw new RegistryError("NAME_INVALID", {
          message: "the registry must be a host name, optionally with a port",
          detail: { registry: host.slice(0, 256) },
        });
      }
      const segment = hostPathSegment(host);
      if (!bySegment.has(segment)) throw notConfigured(host.toLowerCase());
      return segment;
    },

    clientRepositoryName(upstream, repository) {
      if (upstream === fallback) return repository;
      const host = upstream.hosts[0];
      return host === undefined ? repository : `${hostPathSegment(host)}/${repository}`;
    },
  };
}
