// API paths of a kind, from discovery.
import type { ApiClient } from "./api-client.js";
import { isNotFound, ReconcilerError } from "./errors.js";

/** What discovery says about one kind. */
export interface ResourceInfo {
  apiVersion: string;
  kind: string;
  /** The plural used in paths, e.g. "configmaps". */
  plural: string;
  namespaced: boolean;
}

export interface ResourceLocation {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  /** "status", "scale"... */
  subresource?: string;
}

interface ApiResourceList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
}

/**
 * Resolves kinds to REST paths through the API server's discovery documents, cached per
 * apiVersion; a kind not found is looked up again, since a CRD may have just been installed.
 */
export interface ResourcePaths {
  resolve(apiVersion: string, kind: string): Promise<ResourceInfo>;
  /** The path of a collection (no name) or of one object, or one of its subresources. */
  pathFor(location: ResourceLocation): Promise<string>;
}

export function versionRoot(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export function createResourcePaths(client: ApiClient): ResourcePaths {
  const cache = new Map<string, Promise<ApiResourceList>>();

  function discover(apiVersion: string, fresh: boolean): Promise<ApiResourceList> {
    let pending = fresh ? undefined : cache.get(apiVersion);
    if (!pending) {
      pending = client
        .request<ApiResourceList>({ method: "GET", path: versionRoot(apiVersion) })
        .catch((error: unknown) => {
          cache.delete(apiVersion);
          if (isNotFound(error)) return {};
          throw error;
        });
      cache.set(apiVersion, pending);
    }
    return pending;
  }

  async function resolve(apiVersion: string, kind: string): Promise<ResourceInfo> {
    for (const fresh of [false, true]) {
      const list = await discover(apiVersion, fresh);
      // Subresources ("configmaps/status") share their parent's kind: skip them.
      const found = list.resources?.find((item) => item.kind === kind && !item.name.includes("/"));
      if (found) return { apiVersion, kind, plural: found.name, namespaced: found.namespaced };
    }
    throw new ReconcilerError(
      "UNKNOWN_KIND",
      `the API server does not serve kind ${kind} in ${apiVersion} (is its CRD installed?)`,
    );
  }

  return {
    resolve,
    async pathFor(location) {
      const info = await resolve(location.apiVersion, location.kind);
      let path = versionRoot(location.apiVersion);
      if (info.namespaced && location.namespace) {
        path += `/namespaces/${encodeURIComponent(location.namespace)}`;
      } else if (info.namespaced && location.name) {
        throw new ReconcilerError(
          "BAD_OBJECT",
          `${location.kind} ${location.name} is namespaced but no metadata.namespace was given`,
        );
      }
      path += `/${info.plural}`;
      if (location.name) path += `/${encodeURIComponent(location.name)}`;
      if (location.subresource) path += `/${location.subresource}`;
      return path;
    },
  };
}
