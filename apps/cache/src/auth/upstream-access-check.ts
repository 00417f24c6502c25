/**
 * One question to an upstream registry, asked with a client's own credentials through the
 * cache's connection to it (its endpoints in turn, its CA bundles): may they read this manifest,
 * blob or tag list in this repository? Only a 2xx answer is a yes; every other outcome — 401/403,
 * 404, an error of the network, the token service or the client library, even input the client
 * library refuses to send — is something other than "allowed".
 */
import {
  type InvalidDigestError,
  InvalidReferenceError,
  isInvalidDigestError,
  RegistryClientError,
  RegistryError,
  type RegistryRoute,
} from "@regmirror/oci-distribution";
import type { UpstreamConnection } from "../pull-through/upstream-connection.js";
import { parseBasicAuthorization } from "./basic-credentials.js";

/**
 * allowed: the upstream answered 2xx. refused: 401/403, or no token for these credentials.
 * absent: the client may look, but the upstream has no such object in this repository.
 * unavailable: no usable answer (network, timeout, 5xx, 429, a protocol error).
 * invalid-input: the name, tag or digest cannot be asked about; `error` is the 400 to answer.
 */
export type UpstreamAnswer =
  | { readonly verdict: "allowed" | "refused" | "absent" | "unavailable" }
  | { readonly verdict: "invalid-input"; readonly error: RegistryError };

/** The routes whose content the check is about. */
export type ContentRoute = Extract<
  RegistryRoute,
  { endpoint: "manifest" | "blob" | "referrers" | "tags" }
>;

export interface UpstreamAccessCheck {
  ask(
    upstream: UpstreamConnection,
    repository: string,
    route: ContentRoute,
    authorization: string | undefined,
  ): Promise<UpstreamAnswer>;
}

function invalidInput(error: InvalidReferenceError | InvalidDigestError): UpstreamAnswer {
  const part = isInvalidDigestError(error) ? "digest" : error.part;
  const code =
    part === "repository" ? "NAME_INVALID" : part === "tag" ? "MANIFEST_INVALID" : "DIGEST_INVALID";
  return {
    verdict: "invalid-input",
    error: new RegistryError(code, {
      message: `invalid ${part}: access to it cannot be checked with the upstream registry`,
      detail: { reason: error.reason },
    }),
  };
}

export function answerOf(error: unknown): UpstreamAnswer {
  if (RegistryError.isInstance(error)) {
    // The upstream looked the object up for these credentials and has none in this repository.
    if (error.status === 404) return { verdict: "absent" };
    if (error.status === 401 || error.status === 403) return { verdict: "refused" };
    return { verdict: "unavailable" };
  }
  if (RegistryClientError.isInstance(error)) {
    if (error.code === "TOKEN_REQUEST_FAILED" || error.code === "AUTH_SCHEME_UNSUPPORTED") {
      return { verdict: "refused" };
    }
    return { verdict: "unavailable" };
  }
  if (InvalidReferenceError.isInstance(error) || isInvalidDigestError(error)) {
    return invalidInput(error);
  }
  return { verdict: "unavailable" };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function createUpstreamAccessCheck(options: {
  /** Timeout of one upstream request. */
  timeoutMs: number;
}): UpstreamAccessCheck {
  return {
    ask(upstream, repository, route, authorization) {
      return upstream.askAs(
        parseBasicAuthorization(authorization),
        { timeoutMs: options.timeoutMs },
        async (client): Promise<UpstreamAnswer> => {
          try {
            if (route.endpoint === "blob")
              await client.headBlob(repository, decodeSegment(route.digest));
            else if (route.endpoint === "manifest")
              await client.headManifest(repository, decodeSegment(route.reference));
            else if (route.endpoint === "referrers")
              await client.headManifest(repository, decodeSegment(route.digest));
            else for await (const _tag of client.listTags(repository, { pageSize: 1 })) break;
            return { verdict: "allowed" };
          } catch (error) {
            return answerOf(error);
          }
        },
        (answer) => answer.verdict !== "unavailable",
      );
    },
  };
}
