/**
 * Pass-through client auth: before any content of a repository is served — cached or not — the
 * client's own credentials are tried against the upstream for that repository (the upstream's
 * token service for `repository:R:pull`, then a HEAD of the very manifest or blob asked for).
 * The store is content-addressed, so the check is of the object, not only of the repository:
 * a blob is served under R only when the upstream has it in R for this client (else anyone who
 * may pull some repository could read any cached blob through it). The upstream's answer is
 * remembered for `decisionTtlMs` per (credential hash, upstream, repository, object). An
 * upstream that cannot be asked means no: the cache fails closed.
 */
import { readFile } from "node:fs/promises";
import {
  createRegistryClient,
  InvalidDigestError,
  InvalidReferenceError,
  isRegistryClientError,
  isRegistryError,
  RegistryError,
  type RegistryRoute,
} from "@regmirror/oci-distribution";
import type { EffectiveUpstream } from "@regmirror/schemas";
import type { PullThroughLogger } from "../pull-through/index.js";
import { credentialKey, parseBasicAuthorization } from "./basic-credentials.js";
import {
  type AuthDecision,
  authenticationRequired,
  basicChallenge,
  type ClientAuth,
} from "./client-auth.js";
import { createDecisionCache } from "./decision-cache.js";

export interface RepositoryRouter {
  route(repositoryPath: string): { upstream: { name: string }; repository: string };
}

/**
 * absent: the client may pull the repository, but the upstream has no such object in it.
 * invalid-input: the name, tag or digest is malformed; the registry handler refuses it.
 */
type UpstreamVerdict = "allowed" | "refused" | "absent" | "unavailable" | "invalid-input";

export interface PassThroughClientAuthOptions {
  upstreams: readonly EffectiveUpstream[];
  router: RepositoryRouter;
  decisionTtlMs: number;
  realm: string;
  logger: PullThroughLogger;
  /** Timeout of one upstream check. Default 15 s. */
  timeoutMs?: number;
}

function verdictOf(error: unknown): UpstreamVerdict {
  if (isRegistryError(error)) {
    // The upstream looked the object up for these credentials and has none in this repository.
    if (error.status === 404) return "absent";
    if (error.status === 401 || error.status === 403) return "refused";
    return "unavailable";
  }
  if (isRegistryClientError(error)) {
    if (error.code === "TOKEN_REQUEST_FAILED" || error.code === "AUTH_SCHEME_UNSUPPORTED") {
      return "refused";
    }
    return "unavailable";
  }
  if (error instanceof InvalidReferenceError || error instanceof InvalidDigestError) {
    return "invalid-input";
  }
  return "unavailable";
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export async function createPassThroughClientAuth(
  options: PassThroughClientAuthOptions,
): Promise<ClientAuth> {
  const { logger } = options;
  const caBundles = new Map<string, string[]>();
  for (const upstream of options.upstreams) {
    caBundles.set(
      upstream.name,
      await Promise.all(upstream.caFiles.map((file) => readFile(file, "utf8"))),
    );
  }
  const byName = new Map(options.upstreams.map((upstream) => [upstream.name, upstream]));
  const decisions = createDecisionCache<"allowed" | "refused" | "absent">({
    ttlMs: options.decisionTtlMs,
  });
  const inFlight = new Map<string, Promise<UpstreamVerdict>>();

  async function askUpstream(
    upstream: EffectiveUpstream,
    repository: string,
    route: RegistryRoute,
    authorization: string | undefined,
  ): Promise<UpstreamVerdict> {
    const credentials = parseBasicAuthorization(authorization);
    const cas = caBundles.get(upstream.name) ?? [];
    let verdict: UpstreamVerdict = "unavailable";
    for (const endpoint of upstream.endpoints) {
      const client = createRegistryClient({
        registry: endpoint,
        timeoutMs: options.timeoutMs ?? 15_000,
        retry: { retries: 1 },
        ...(credentials === undefined ? {} : { credentials }),
        ...(cas.length > 0 ? { ca: cas } : {}),
      });
      try {
        if (route.endpoint === "blob")
          await client.headBlob(repository, decodeSegment(route.digest));
        else if (route.endpoint === "manifest")
          await client.headManifest(repository, decodeSegment(route.reference));
        else if (route.endpoint === "referrers")
          await client.headManifest(repository, decodeSegment(route.digest));
        else for await (const _tag of client.listTags(repository, { pageSize: 1 })) break;
        verdict = "allowed";
      } catch (error) {
        verdict = verdictOf(error);
      } finally {
        await client.close();
      }
      if (verdict !== "unavailable") break;
    }
    return verdict;
  }

  return {
    mode: "pass-through",
    async authorize(request, route): Promise<AuthDecision> {
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
      if (route.endpoint === "base") {
        // Asking for credentials here makes clients (skopeo, Docker) send them on every request.
        return authorization === undefined
          ? authenticationRequired(challenge)
          : { allowed: true, ...who };
      }
      if (route.endpoint === "catalog") {
        return {
          allowed: false,
          error: new RegistryError("DENIED", {
            message: "the catalog is not available in pass-through auth mode",
          }),
        };
      }
      if (route.endpoint === "upload") return { allowed: true, ...who }; // answered UNSUPPORTED

      let routed: ReturnType<RepositoryRouter["route"]>;
      try {
        routed = options.router.route(route.repository);
      } catch (error) {
        if (isRegistryError(error)) return { allowed: false, error };
        throw error;
      }
      const upstream = byName.get(routed.upstream.name);
      if (upstream === undefined) throw new Error(`no upstream named ${routed.upstream.name}`);
      const object =
        route.endpoint === "blob" || route.endpoint === "referrers"
          ? route.digest
          : route.endpoint === "manifest"
            ? route.reference
            : "tags";
      const key = `${credentialKey(authorization)} ${upstream.name} ${routed.repository} ${route.endpoint} ${object}`;
      let decision = decisions.get(key);
      if (decision === undefined) {
        let pending = inFlight.get(key);
        if (pending === undefined) {
          pending = askUpstream(upstream, routed.repository, route, authorization).finally(() =>
            inFlight.delete(key),
          );
          inFlight.set(key, pending);
        }
        const verdict = await pending;
        logger.debug(
          { upstream: upstream.name, repository: routed.repository, verdict, ...who },
          "pass-through auth checked",
        );
        if (verdict === "invalid-input") return { allowed: true, ...who };
        if (verdict === "unavailable") {
          return {
            allowed: false,
            error: new RegistryError("UNAVAILABLE", {
              message: `cannot check access to this repository with upstream registry ${upstream.name}`,
              detail: { upstream: upstream.name },
            }),
          };
        }
        decision = verdict;
        decisions.set(key, decision);
      }
      if (decision === "absent") {
        const code =
          route.endpoint === "blob"
            ? "BLOB_UNKNOWN"
            : route.endpoint === "tags"
              ? "NAME_UNKNOWN"
              : "MANIFEST_UNKNOWN";
        return {
          allowed: false,
          error: new RegistryError(code, { detail: { upstream: upstream.name } }),
        };
      }
      const allowed = decision === "allowed";
      if (allowed) return { allowed: true, ...who };
      if (authorization === undefined) return authenticationRequired(challenge);
      return {
        allowed: false,
        error: new RegistryError("DENIED", {
          message: `upstream registry ${upstream.name} does not let these credentials pull this repository`,
          detail: { upstream: upstream.name },
        }),
      };
    },
  };
}
