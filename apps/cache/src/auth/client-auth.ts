/**
 * Who may use the cache. The daemon asks `authorize` before the registry handler sees a
 * request; a refusal is answered with the OCI error JSON and, for 401, a `WWW-Authenticate`
 * challenge so clients send credentials. The modes (README, "Client auth"):
 * - none: everyone may pull everything the upstreams give the cache;
 * - htpasswd: only users of the htpasswd file (Basic, or bearer tokens from `/auth/token`);
 * - pass-through: per object, only clients whose own credentials the upstream accepts.
 * A mode allows only on a clear yes; every other outcome is a refusal (ADR 0014).
 */
import { RegistryError, type RegistryRoute } from "@regmirror/oci-distribution";
import type { PullThroughRoute } from "../pull-through/pull-through-storage.js";

export type AuthDecision =
  | { readonly allowed: true; readonly user?: string }
  | { readonly allowed: false; readonly error: RegistryError };

export interface AuthRequest {
  /** The client's Authorization header. */
  authorization: string | undefined;
}

/** The answer of the token endpoint. */
export interface TokenAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface ClientAuth {
  readonly mode: "none" | "htpasswd" | "pass-through";
  /**
   * `route` is the registry endpoint, its repository as the storage will see it; `routed`, that
   * repository already routed to its upstream by the daemon (pass-through asks that upstream).
   */
  authorize(
    request: AuthRequest,
    route: RegistryRoute,
    routed?: PullThroughRoute,
  ): Promise<AuthDecision>;
  /** `/auth/token` (htpasswd mode): a bearer token for Basic or OAuth2 password credentials. */
  issueToken?(request: AuthRequest, form: URLSearchParams): Promise<TokenAnswer>;
}

export const openClientAuth: ClientAuth = {
  mode: "none",
  authorize: async () => ({ allowed: true }),
};

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, "")}"`;
}

/** 401 with a challenge: clients retry with the credentials they have for the cache. */
export function authenticationRequired(challenge: string, message?: string): AuthDecision {
  return {
    allowed: false,
    error: new RegistryError("UNAUTHORIZED", {
      ...(message === undefined ? {} : { message }),
      responseHeaders: { "WWW-Authenticate": challenge },
    }),
  };
}

export function basicChallenge(realm: string): string {
  return `Basic realm=${quoted(realm)}`;
}

export function bearerChallenge(realm: string, service: string, error?: string): string {
  return `Bearer realm=${quoted(realm)},service=${quoted(service)}${error === undefined ? "" : `,error=${quoted(error)}`}`;
}
