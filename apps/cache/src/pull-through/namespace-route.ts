/**
 * The registry a request names, applied to its matched route without touching the request.
 * containerd names the registry a mirror stands in for with `?ns=<registry>`
 * (https://github.com/containerd/containerd/blob/v1.6.20/docs/hosts.md); a client may also put
 * a `host:port` first in the path. Either becomes the repository's first component in the form
 * the router reads: `/v2/library/nginx/manifests/1?ns=docker.io` → repository
 * `docker.io/library/nginx`, `/v2/reg:5000/app/...` → `reg_5000/app` (repository names cannot
 * hold `:`). An unknown or malformed registry is refused with a RegistryError.
 */
import { RegistryError, type RegistryRoute } from "@regmirror/oci-distribution";

export interface HostSegments {
  segmentForHost(host: string): string;
}

const noNamespaces: readonly string[] = Object.freeze([]);

/** `route` with the registry from `query` (whose `ns` is then removed) or a host:port prefix. */
export function routeWithNamespace(
  route: RegistryRoute,
  query: URLSearchParams,
  router: HostSegments,
): RegistryRoute {
  if (route.endpoint === "catalog") return route;
  // Most requests have no query: has() builds nothing.
  const namespaces = query.has("ns") ? query.getAll("ns") : noNamespaces;
  if (namespaces.length > 1) {
    throw new RegistryError("NAME_INVALID", { message: "give the ns query parameter once" });
  }
  if (route.endpoint === "base") return route;
  const namespace = namespaces[0];
  if (namespace !== undefined) {
    query.delete("ns");
    return { ...route, repository: `${router.segmentForHost(namespace)}/${route.repository}` };
  }
  const slash = route.repository.indexOf("/");
  const colon = route.repository.indexOf(":");
  // No ":" in the first component: no registry named (checked without cutting it out).
  if (colon < 0 || (slash >= 0 && colon > slash)) return route;
  const first = slash < 0 ? route.repository : route.repository.slice(0, slash);
  return {
    ...route,
    repository: `${router.segmentForHost(first)}${route.repository.slice(first.length)}`,
  };
}
