/**
 * Pass-through client auth: before any content of a repository is served — cached or not — the
 * client's own credentials are tried against the upstream for that repository (the upstream's
 * token service for `repository:R:pull`, then a HEAD of the very manifest or blob asked for).
 * The store is content-addressed, so the check is of the object, not only of the repository:
 * a blob is served under R only when the upstream has it in R for this client (else anyone who
 * may pull some repository could read any cached blob through it). Only a clear yes (2xx) is
 * remembered as allowed, for `decisionTtlMs` per (credential hash, upstream, repository,
 * object); everything else is a refusal: no, not found, malformed input (400), an upstream that
 * cannot be asked (503). docs/adr/0014-fail-closed-client-auth.md.
 */
import type { Logger } from "@regmirror/core";
import { RegistryError, type RegistryRoute } from "@regmirror/oci-distribution";
import type { PullThroughRoute } from "../pull-through/pull-through-storage.js";
import { outcomeFor } from "../pull-through/routed-request.js";
import type { UpstreamConnection } from "../pull-through/upstream-connection.js";
import { credentialKey, parseBasicAuthorization } from "./basic-credentials.js";
import {
  type AuthDecision,
  authenticationRequired,
  basicChallenge,
  type ClientAuth,
} from "./client-auth.js";
import { createDecisionCache } from "./decision-cache.js";
import {
  type ContentRoute,
  createUpstreamAccessCheck,
  type UpstreamAnswer,
} from "./upstream-access-check.js";

export interface RepositoryRouter {
  /** Throws a RegistryError for a registry that is not configured or an invalid routed name. */
  route(repositoryPath: string): { upstream: UpstreamConnection; repository: string };
}

export interface PassThroughClientAuthOptions {
  /** The pull-through storage's router: its upstreams are the cache's connections. */
  router: RepositoryRouter;
  decisionTtlMs: number;
  realm: string;
  logger: Logger;
  /** Timeout of one upstream check. Default 15 s. */
  timeoutMs?: number;
}

/** The answers worth remembering: the upstream's own yes, no and not-found. */
type Decision = "allowed" | "refused" | "absent";

function readOnly(): RegistryError {
  return new RegistryError("UNSUPPORTED", {
    message: "this registry does not accept pushes or deletes",
  });
}

export function createPassThroughClientAuth(options: PassThroughClientAuthOptions): ClientAuth {
  const { logger } = options;
  const check = createUpstreamAccessCheck({ timeoutMs: options.timeoutMs ?? 15_000 });
  const decisions = createDecisionCache<Decision>({ ttlMs: options.decisionTtlMs });
  const inFlight = new Map<string, Promise<UpstreamAnswer>>();

  /** One upstream call per key at a time: concurrent identical checks share it. */
  function askOnce(
    key: string,
    upstream: UpstreamConnection,
    repository: string,
    route: ContentRoute,
    authorization: string | undefined,
  ): Promise<UpstreamAnswer> {
    let pending = inFlight.get(key);
    if (pending === undefined) {
      pending = check
        .ask(upstream, repository, route, authorization)
        .finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  }

  async function decide(
    route: ContentRoute,
    authorization: string | undefined,
    who: { user?: string },
    known: PullThroughRoute | undefined,
  ): Promise<AuthDecision> {
    const challenge = basicChallenge(options.realm);
    const outcome = outcomeFor(options.router, route.repository, known);
    // Not configured, or a routed name that is no repository name: refused as the router says.
    if ("refusal" in outcome) return { allowed: false, error: outcome.refusal };
    const { routed } = outcome;
    const { upstream } = routed;
    const object =
      route.endpoint === "blob" || route.endpoint === "referrers"
        ? route.digest
        : route.endpoint === "manifest"
          ? route.reference
          : "tags";
    const key = `${credentialKey(authorization)} ${upstream.name} ${routed.repository} ${route.endpoint} ${object}`;
    let decision = decisions.get(key);
    if (decision === undefined) {
      const answer = await askOnce(key, upstream, routed.repository, route, authorization);
      logger.debug(
        { upstream: upstream.name, repository: routed.repository, verdict: answer.verdict, ...who },
        "pass-through auth checked",
      );
      if (answer.verdict === "invalid-input") return { allowed: false, error: answer.error };
      if (answer.verdict === "unavailable") {
        return {
          allowed: false,
          error: new RegistryError("UNAVAILABLE", {
            message: `cannot check access to this repository with upstream registry ${upstream.name}`,
            detail: { upstream: upstream.name },
          }),
        };
      }
      decision = answer.verdict;
      decisions.set(key, decision);
    }
    switch (decision) {
      case "allowed":
        return { allowed: true, ...who };
      case "absent":
        return {
          allowed: false,
          error: new RegistryError(
            route.endpoint === "blob"
              ? "BLOB_UNKNOWN"
              : route.endpoint === "tags"
                ? "NAME_UNKNOWN"
                : "MANIFEST_UNKNOWN",
            { detail: { upstream: upstream.name } },
          ),
        };
      case "refused":
        if (authorization === undefined) return authenticationRequired(challenge);
        return {
          allowed: false,
          error: new RegistryError("DENIED", {
            message: `upstream registry ${upstream.name} does not let these credentials pull this repository`,
            detail: { upstream: upstream.name },
          }),
        };
    }
  }

  return {
    mode: "pass-through",
    async authorize(request, route: RegistryRoute, routed): Promise<AuthDecision> {
      const challenge = basicChallenge(options.realm);
      // Clients without credentials answer a Basic challenge with an empty user (`Basic Og==`).
      const isBasic = /^Basic\s/i.test(request.authorization ?? "");
      const authorization =
        isBasic && parseBasicAuthorization(request.authorization) === undefined
          ? undefined
          : request.authorization;
      if (authorization !== undefined && !isBasic) {
        return authenticationRequired(challenge, "send Basic credentials of the upstream registry");
      }
      const user = parseBasicAuthorization(authorization)?.username;
      const who = user === undefined ? {} : { user };
      switch (route.endpoint) {
        case "base":
          // No content here. Asking for credentials makes clients (skopeo, Docker) send them on
          // every request; what they are worth is checked per object.
          return authorization === undefined
            ? authenticationRequired(challenge)
            : { allowed: true, ...who };
        case "catalog":
          return {
            allowed: false,
            error: new RegistryError("DENIED", {
              message: "the catalog is not available in pass-through auth mode",
            }),
          };
        case "upload":
          return { allowed: false, error: readOnly() };
        default:
          return decide(route, authorization, who, routed);
      }
    },
  };
}
