/**
 * containerd names the registry a mirror stands in for with `?ns=<registry>`
 * (https://github.com/containerd/containerd/blob/v1.6.20/docs/hosts.md). The registry handler
 * hands storages only the path, so this wrapper moves the registry into it before the handler
 * runs: `/v2/library/nginx/manifests/1?ns=docker.io` → `/v2/docker.io/library/nginx/manifests/1`.
 * A path prefix with a port (`/v2/reg:5000/app/...`) becomes `/v2/reg_5000/app/...`, since
 * repository names cannot hold `:`. An unknown or malformed registry is answered here with the
 * OCI error JSON.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { API_VERSION, RegistryError } from "@regmirror/oci-distribution";

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => unknown;

export interface HostSegments {
  segmentForHost(host: string): string;
}

function answerError(request: IncomingMessage, response: ServerResponse, error: RegistryError) {
  const body = Buffer.from(JSON.stringify(error.toErrorBody()));
  response.writeHead(error.status, {
    "Docker-Distribution-API-Version": API_VERSION,
    "Content-Type": "application/json",
    "Content-Length": body.byteLength,
  });
  response.end(request.method === "HEAD" ? undefined : body);
}

/** The request's path with the registry moved into it; undefined when nothing changes. */
export function rewriteRegistryPath(url: string, router: HostSegments): string | undefined {
  const queryStart = url.indexOf("?");
  const path = queryStart < 0 ? url : url.slice(0, queryStart);
  if (!path.startsWith("/v2/") || path === "/v2/_catalog") return undefined;
  const rest = path.slice("/v2/".length);
  const query = new URLSearchParams(queryStart < 0 ? "" : url.slice(queryStart + 1));
  const namespaces = query.getAll("ns");
  const firstSlash = rest.indexOf("/");
  if (namespaces.length === 0) {
    const first = firstSlash < 0 ? "" : rest.slice(0, firstSlash);
    if (!first.includes(":")) return undefined;
    return `/v2/${router.segmentForHost(first)}${url.slice("/v2/".length + first.length)}`;
  }
  if (namespaces.length > 1) {
    throw new RegistryError("NAME_INVALID", { message: "give the ns query parameter once" });
  }
  if (rest === "" || firstSlash < 0) return undefined;
  const segment = router.segmentForHost(namespaces[0] ?? "");
  query.delete("ns");
  const remaining = query.toString();
  return `/v2/${segment}/${rest}${remaining === "" ? "" : `?${remaining}`}`;
}

/** Wraps a registry handler so `?ns=` and host:port prefixes reach the storage as a path prefix. */
export function withNamespaceQuery(handler: RequestHandler, router: HostSegments): RequestHandler {
  return (request, response) => {
    let rewritten: string | undefined;
    try {
      rewritten = rewriteRegistryPath(request.url ?? "", router);
    } catch (error) {
      if (RegistryError.isInstance(error)) {
        answerError(request, response, error);
        return;
      }
      throw error;
    }
    if (rewritten !== undefined) request.url = rewritten;
    return handler(request, response);
  };
}
