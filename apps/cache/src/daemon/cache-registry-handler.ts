/**
 * The registry API as the cache serves it: oci-distribution's handler over the pull-through
 * storage, with the cache's two stages. `resolveRoute` labels the request with its endpoint
 * (for metrics and the access log), puts the registry a client named (`?ns=`, a host:port
 * prefix) into the repository and routes that repository to its upstream once, for client auth
 * and the storage; `authorize` asks the client auth. The route is matched once, the request is
 * never rewritten, and every refusal leaves through the handler's one error answer (ADR 0028).
 */
import type { IncomingMessage } from "node:http";
import type { Logger } from "@regmirror/core";
import {
  createRegistryHandler,
  RegistryError,
  type RegistryHandler,
  type RegistryRoute,
  type RegistryStorage,
} from "@regmirror/oci-distribution";
import { type ClientAuth, openClientAuth } from "../auth/client-auth.js";
import type { RequestEntries as FullRequestEntries } from "../logging/request-entries.js";
import { currentPeerMark } from "../peers/peer-request.js";
import { peerHeader, verifyPeerRequest } from "../peers/peer-signature.js";
import { type HostSegments, routeWithNamespace } from "../pull-through/namespace-route.js";
import type { PullThroughRoute } from "../pull-through/pull-through-storage.js";
import type { RegistryRouter } from "../pull-through/registry-router.js";
import { routeRequest } from "../pull-through/routed-request.js";
import type { UpstreamConnection } from "../pull-through/upstream-connection.js";

/** What the daemon records about each request; the stages fill in its route and user. */
export type RequestEntries = Pick<FullRequestEntries, "get">;

export interface CacheRegistryHandlerOptions {
  storage: RegistryStorage<PullThroughRoute> & {
    readonly router: HostSegments & Pick<RegistryRouter<UpstreamConnection>, "route">;
  };
  /** Default: everyone may pull (`openClientAuth`). */
  auth?: ClientAuth;
  /** Default: nothing is recorded. */
  entries?: RequestEntries;
  logger?: Logger;
  /** regmirror.peers.secret: requests signed with it come from a replica (skip client auth). */
  peerSecret?: string | undefined;
}

/** The sender of a signed replica request; a refusal (401) that names what was wrong otherwise. */
function checkPeerSignature(
  request: IncomingMessage,
  header: string | string[],
  secret: string | undefined,
): string {
  const refuse = (message: string) =>
    new RegistryError("UNAUTHORIZED", { message: `peer request refused: ${message}` });
  if (secret === undefined) throw refuse("this cache has no regmirror.peers");
  if (Array.isArray(header)) throw refuse(`more than one ${peerHeader} header`);
  const check = verifyPeerRequest(secret, header, {
    method: request.method ?? "GET",
    path: request.url ?? "/",
    // Signatures carry real time: they are compared with another replica's clock.
    nowMs: Date.now(),
  });
  if (!check.valid) throw refuse(check.reason);
  return check.sender;
}

export function createCacheRegistryHandler(options: CacheRegistryHandlerOptions): RegistryHandler {
  const { storage } = options;
  const auth = options.auth ?? openClientAuth;
  const entryOf = (request: IncomingMessage) => options.entries?.get(request);
  return createRegistryHandler<PullThroughRoute>({
    storage,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    resolveRoute(context) {
      const { request, route, query } = context;
      const served = routeWithNamespace(route, query, storage.router);
      if ("repository" in served) context.routed = routeRequest(storage.router, served.repository);
      const entry = entryOf(request);
      if (entry) {
        entry.route = route.endpoint;
        entry.served = served;
      }
      return served;
    },
    // Not async: a request that needs no check (no client auth, a replica's) waits for nothing.
    authorize({ request, route, routed }) {
      const peerSignature = request.headers[peerHeader];
      if (peerSignature !== undefined) {
        // The replica that asks has authorized its client; the signature proves it is one.
        const entry = entryOf(request);
        const sender = checkPeerSignature(request, peerSignature, options.peerSecret);
        if (entry) entry.user = `peer ${sender}`;
        const mark = currentPeerMark();
        if (mark) mark.fromPeer = true;
        return;
      }
      if (auth.mode === "none") return;
      return authorizeClient(request, route, routed);
    },
  });

  async function authorizeClient(
    request: IncomingMessage,
    route: RegistryRoute,
    routed: PullThroughRoute | undefined,
  ): Promise<void> {
    const decision = await auth.authorize(
      { authorization: request.headers.authorization },
      route,
      routed,
    );
    if (!decision.allowed) throw decision.error;
    const entry = entryOf(request);
    if (decision.user !== undefined && entry) entry.user = decision.user;
  }
}
