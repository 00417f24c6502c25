/**
 * The registry API as the cache serves it: oci-distribution's handler over the pull-through
 * storage, with the cache's two stages. `resolveRoute` labels the request with its endpoint
 * (for metrics and the access log) and puts the registry a client named (`?ns=`, a host:port
 * prefix) into the repository; `authorize` asks the client auth. The route is matched once, the
 * request is never rewritten, and every refusal leaves through the handler's one error answer.
 */
import type { IncomingMessage } from "node:http";
import type { Logger } from "@regmirror/core";
import {
  createRegistryHandler,
  type RegistryHandler,
  type RegistryStorage,
} from "@regmirror/oci-distribution";
import { type ClientAuth, openClientAuth } from "../auth/client-auth.js";
import type { AccessLogEntry } from "../logging/access-log.js";
import { type HostSegments, routeWithNamespace } from "../pull-through/namespace-route.js";

/** What the daemon records about each request; the stages fill in its route and user. */
export type RequestEntries = Pick<WeakMap<IncomingMessage, AccessLogEntry>, "get">;

export interface CacheRegistryHandlerOptions {
  storage: RegistryStorage & { readonly router: HostSegments };
  /** Default: everyone may pull (`openClientAuth`). */
  auth?: ClientAuth;
  /** Default: nothing is recorded. */
  entries?: RequestEntries;
  logger?: Logger;
}

export function createCacheRegistryHandler(options: CacheRegistryHandlerOptions): RegistryHandler {
  const { storage } = options;
  const auth = options.auth ?? openClientAuth;
  const entryOf = (request: IncomingMessage) => options.entries?.get(request);
  return createRegistryHandler({
    storage,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    resolveRoute({ request, route, query }) {
      const served = routeWithNamespace(route, query, storage.router);
      const entry = entryOf(request);
      if (entry) {
        entry.route = route.endpoint;
        entry.served = served;
      }
      return served;
    },
    async authorize({ request, route }) {
      if (auth.mode === "none") return;
      const decision = await auth.authorize(
        { authorization: request.headers.authorization },
        route,
      );
      if (!decision.allowed) throw decision.error;
      const entry = entryOf(request);
      if (decision.user !== undefined && entry) entry.user = decision.user;
    },
  });
}
