/**
 * Registry authentication: Basic, and the Docker token flow
 * (https://distribution.github.io/distribution/spec/auth/token/): the registry answers 401 with
 * `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; the client asks the realm for a
 * token for exactly the scopes it needs (`repository:<name>:<actions>`), with Basic credentials
 * when it has them, and caches the token per set of scopes until it expires.
 */

import type { Logger } from "@regmirror/core";
import { RegistryError } from "../model/errors.js";
import { RegistryClientError } from "./client-errors.js";
import type { BasicCredentials } from "./docker-config.js";
import type { HttpTransport } from "./http-transport.js";
import { redactUrl } from "./redact-url.js";
import { readBodyBytes, readErrorText } from "./response-body.js";
import { abortedError } from "./retry.js";
import { type AuthChallenge, parseWwwAuthenticate } from "./www-authenticate.js";

export type RepositoryAction = "pull" | "push" | "delete";

/** `repository:library/nginx:pull,push` — one scope per repository, its actions together. */
export function repositoryScope(repository: string, actions: readonly RepositoryAction[]): string {
  return `repository:${repository}:${[...new Set(actions)].join(",")}`;
}

export const CATALOG_SCOPE = "registry:catalog:*";

export interface RegistryAuthenticator {
  /** The Authorization header for a request needing `scopes`, from what the registry asked for so far. */
  authorization(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined>;
  /**
   * Learns from a 401 answer. True when sending again with a new authorization can succeed;
   * false when the registry refused what the client can offer.
   */
  onUnauthorized(
    challengeHeader: string | string[] | undefined,
    scopes: readonly string[],
    usedAuthorization: string | undefined,
  ): Promise<boolean>;
}

export interface RegistryAuthenticatorOptions {
  transport: HttpTransport;
  /** Resolved lazily (a Docker config file is read on first need). */
  credentials: () => Promise<BasicCredentials | undefined>;
  logger: Logger;
  /** Token endpoints answer small JSON; anything larger is refused. */
  maximumTokenResponseBytes?: number;
  now?: () => number;
}

type KnownChallenge =
  | { scheme: "bearer"; realm: URL; service: string | undefined; scope: string | undefined }
  | { scheme: "basic" };

interface CachedToken {
  authorization: string;
  expiresAt: number;
}

/** Tokens without `expires_in` live 60 s (the token spec's default). */
const DEFAULT_TOKEN_LIFETIME_SECONDS = 60;
/** A long-running client talking to many repositories keeps at most this many tokens. */
const MAXIMUM_CACHED_TOKENS = 1000;
/** Refresh this early, so a token does not expire between the cache and the registry. */
const MAXIMUM_EXPIRY_MARGIN_MS = 30_000;

export function createRegistryAuthenticator(
  options: RegistryAuthenticatorOptions,
): RegistryAuthenticator {
  const { transport, logger } = options;
  const now = options.now ?? Date.now;
  const maximumTokenResponseBytes = options.maximumTokenResponseBytes ?? 1024 * 1024;
  let challenge: KnownChallenge | undefined;
  const tokens = new Map<string, CachedToken>();
  const pendingTokens = new Map<string, Promise<CachedToken>>();
  /** Scopes a registry's challenge named beyond those the client computed, per cache key. */
  const challengeScopes = new Map<string, string[]>();

  function remember(key: string, token: CachedToken): void {
    if (tokens.size >= MAXIMUM_CACHED_TOKENS) {
      const current = now();
      for (const [cachedKey, cached] of tokens)
        if (cached.expiresAt <= current) tokens.delete(cachedKey);
      if (tokens.size >= MAXIMUM_CACHED_TOKENS) tokens.clear();
    }
    tokens.set(key, token);
  }

  const cacheKey = (scopes: readonly string[]) => [...new Set(scopes)].sort().join(" ");

  async function basicAuthorization(): Promise<string | undefined> {
    const credentials = await options.credentials();
    if (!credentials) return undefined;
    const encoded = Buffer.from(`${credentials.username}:${credentials.password}`).toString(
      "base64",
    );
    return `Basic ${encoded}`;
  }

  async function requestToken(
    bearer: Extract<KnownChallenge, { scheme: "bearer" }>,
    scopes: readonly string[],
  ): Promise<CachedToken> {
    const url = new URL(bearer.realm);
    if (bearer.service !== undefined) url.searchParams.set("service", bearer.service);
    for (const scope of new Set(scopes)) url.searchParams.append("scope", scope);
    const credentials = await options.credentials();
    const headers: Record<string, string> = { accept: "application/json" };
    if (credentials) {
      url.searchParams.set("account", credentials.username);
      const authorization = await basicAuthorization();
      if (authorization) headers.authorization = authorization;
    }
    const requestedAt = now();
    const response = await transport.send({ url, method: "GET", headers, retryable: true });
    const where = `token service ${redactUrl(url)}`;
    if (response.status === 401 || response.status === 403) {
      await readErrorText(response);
      throw new RegistryError(response.status === 401 ? "UNAUTHORIZED" : "DENIED", {
        status: response.status,
        message: credentials
          ? `${where} refused the credentials of "${credentials.username}"`
          : `${where} refused an anonymous token`,
      });
    }
    if (response.status !== 200) {
      await readErrorText(response);
      if (response.status === 429 || response.status >= 500) {
        throw new RegistryError(response.status === 429 ? "TOOMANYREQUESTS" : "UNAVAILABLE", {
          status: response.status,
          message: `${where} answered HTTP ${response.status}`,
        });
      }
      throw new RegistryClientError(
        "TOKEN_REQUEST_FAILED",
        `${where} answered HTTP ${response.status}`,
      );
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(
        (await readBodyBytes(response, maximumTokenResponseBytes)).toString("utf8"),
      );
      if (typeof parsed !== "object" || parsed === null) throw new Error("not an object");
      body = parsed as Record<string, unknown>;
    } catch {
      throw new RegistryClientError(
        "TOKEN_REQUEST_FAILED",
        `${where} answered a body that is not token JSON`,
      );
    }
    const token = typeof body.token === "string" ? body.token : body.access_token;
    if (typeof token !== "string" || token === "") {
      throw new RegistryClientError("TOKEN_REQUEST_FAILED", `${where} answered without a token`);
    }
    const expiresAt = tokenExpiry(body, requestedAt);
    logger.debug({ tokenService: redactUrl(url), scopes: [...scopes] }, "obtained registry token");
    return { authorization: `Bearer ${token}`, expiresAt };
  }

  async function bearerAuthorization(
    bearer: Extract<KnownChallenge, { scheme: "bearer" }>,
    scopes: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const key = cacheKey(scopes);
    const cached = tokens.get(key);
    if (cached && cached.expiresAt > now()) return cached.authorization;
    let pending = pendingTokens.get(key);
    if (!pending) {
      // Concurrent requests for the same scopes share one token request; it is not tied to
      // one caller's signal (the timeout bounds it), each caller stops waiting on its own.
      const wanted = [...scopes, ...(challengeScopes.get(key) ?? [])];
      pending = requestToken(bearer, wanted).finally(() => pendingTokens.delete(key));
      pending.then((token) => remember(key, token)).catch(() => {});
      pendingTokens.set(key, pending);
    }
    const token = await untilAborted(pending, signal);
    return token.authorization;
  }

  return {
    async authorization(scopes, signal) {
      if (challenge === undefined) return undefined;
      if (challenge.scheme === "basic") return basicAuthorization();
      return bearerAuthorization(challenge, scopes, signal);
    },

    async onUnauthorized(challengeHeader, scopes, usedAuthorization) {
      const learned = chooseChallenge(parseWwwAuthenticate(challengeHeader));
      if (learned === undefined) return false;
      challenge = learned;
      if (learned.scheme === "basic") {
        return usedAuthorization === undefined && (await options.credentials()) !== undefined;
      }
      const key = cacheKey(scopes);
      if (tokens.get(key)?.authorization === usedAuthorization) tokens.delete(key);
      const asked = (learned.scope ?? "")
        .split(" ")
        .filter((scope) => scope !== "" && !scopes.includes(scope));
      if (asked.length > 0) challengeScopes.set(key, asked);
      // A new token can help (first challenge, or a cached token the registry no longer takes);
      // the session sends at most once more, so a refused fresh token ends in UNAUTHORIZED.
      return true;
    },
  };
}

/** Waits for `promise`, or rejects with ABORTED as soon as `signal` fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Prefers Bearer over Basic; throws for a registry that only speaks other schemes. */
function chooseChallenge(challenges: AuthChallenge[]): KnownChallenge | undefined {
  const bearer = challenges.find((candidate) => candidate.scheme === "bearer");
  if (bearer) {
    const realm = bearer.params.realm;
    let realmUrl: URL | undefined;
    try {
      realmUrl = realm ? new URL(realm) : undefined;
    } catch {
      realmUrl = undefined;
    }
    if (!realmUrl || (realmUrl.protocol !== "https:" && realmUrl.protocol !== "http:")) {
      throw new RegistryClientError(
        "INVALID_RESPONSE",
        "the registry's Bearer challenge has no usable http(s) realm",
      );
    }
    return {
      scheme: "bearer",
      realm: realmUrl,
      service: bearer.params.service,
      scope: bearer.params.scope,
    };
  }
  if (challenges.some((candidate) => candidate.scheme === "basic")) return { scheme: "basic" };
  if (challenges.length === 0) return undefined;
  throw new RegistryClientError(
    "AUTH_SCHEME_UNSUPPORTED",
    `the registry asks for ${challenges.map((candidate) => candidate.scheme).join(", ")} authentication; this client speaks Bearer and Basic`,
  );
}

/**
 * When a token stops being usable: `issued_at + expires_in`, never later than the local clock's
 * `request time + expires_in` (a token service with a clock ahead must not make tokens live
 * longer), minus a margin of up to 30 s or a tenth of the lifetime.
 */
export function tokenExpiry(body: Record<string, unknown>, requestedAt: number): number {
  const lifetimeSeconds =
    typeof body.expires_in === "number" && body.expires_in > 0
      ? body.expires_in
      : DEFAULT_TOKEN_LIFETIME_SECONDS;
  const lifetimeMs = lifetimeSeconds * 1000;
  const issuedAt = typeof body.issued_at === "string" ? Date.parse(body.issued_at) : Number.NaN;
  const start = Number.isNaN(issuedAt) ? requestedAt : Math.min(issuedAt, requestedAt);
  const margin = Math.min(MAXIMUM_EXPIRY_MARGIN_MS, lifetimeMs / 10);
  return start + lifetimeMs - margin;
}
