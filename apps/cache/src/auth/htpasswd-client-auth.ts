/**
 * htpasswd client auth: every registry request needs a user of the file. With http.host set,
 * clients follow the Docker token protocol: a 401 with `Bearer realm=<http.host>/auth/token`
 * sends them there with Basic credentials (GET) or an OAuth2 password grant (POST, containerd),
 * and they get a bearer token valid for `tokenTtlMs`. Without http.host the challenge is
 * `Basic realm="<realm>"`, as distribution's htpasswd auth answers: the realm comes from the
 * configuration only, never from the request's Host header (ADR 0014). Basic credentials are
 * always accepted; bcrypt is slow on purpose, so a verified Authorization header is remembered
 * (as a hash) for the same time. A wrong one is not remembered.
 */
import { credentialKey, parseBasicAuthorization } from "./basic-credentials.js";
import { createCacheTokens } from "./cache-tokens.js";
import {
  type AuthDecision,
  authenticationRequired,
  basicChallenge,
  bearerChallenge,
  type ClientAuth,
  type TokenAnswer,
} from "./client-auth.js";
import { createDecisionCache } from "./decision-cache.js";
import type { HtpasswdFile } from "./htpasswd-file.js";

export const tokenPath = "/auth/token";
const service = "regmirror-cache";

export function createHtpasswdClientAuth(options: {
  htpasswd: HtpasswdFile;
  realm: string;
  /** `<http.host>/auth/token`: clients are sent there for tokens; null: a Basic challenge. */
  tokenRealm: string | null;
  tokenTtlMs: number;
  /** http.secret: the token signing key shared by replicas; absent: a random key. */
  secret: string | undefined;
}): ClientAuth {
  const verified = createDecisionCache<string>({ ttlMs: options.tokenTtlMs });
  const tokens = createCacheTokens({ secret: options.secret, ttlMs: options.tokenTtlMs });

  async function checkPassword(username: string, password: string): Promise<boolean> {
    const key = credentialKey(`${username}\u0000${password}`);
    if (verified.get(key) === username) return true;
    if (!(await options.htpasswd.verify(username, password))) return false;
    verified.set(key, username);
    return true;
  }

  return {
    mode: "htpasswd",
    async authorize(request): Promise<AuthDecision> {
      const { tokenRealm } = options;
      const challenge =
        tokenRealm === null ? basicChallenge(options.realm) : bearerChallenge(tokenRealm, service);
      const { authorization } = request;
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
      if (bearer !== undefined) {
        const user = tokens.verify(bearer);
        if (user !== undefined) return { allowed: true, user };
        return authenticationRequired(
          tokenRealm === null ? challenge : bearerChallenge(tokenRealm, service, "invalid_token"),
          "the token is invalid or expired",
        );
      }
      const credentials = parseBasicAuthorization(authorization);
      if (credentials === undefined) return authenticationRequired(challenge);
      if (!(await checkPassword(credentials.username, credentials.password))) {
        return authenticationRequired(challenge, "the user name or password is wrong");
      }
      return { allowed: true, user: credentials.username };
    },

    async issueToken(request, form): Promise<TokenAnswer> {
      const basic = parseBasicAuthorization(request.authorization);
      const username =
        basic?.username ?? (form.get("grant_type") === "password" ? form.get("username") : null);
      const password = basic?.password ?? form.get("password");
      const sent = username !== null && password !== null;
      if (!sent || !(await checkPassword(username, password))) {
        const message = sent
          ? "the user name or password is wrong"
          : "no credentials were sent: log in with a user of the cache's htpasswd file";
        return {
          status: 401,
          headers: { "WWW-Authenticate": basicChallenge(options.realm) },
          body: { errors: [{ code: "UNAUTHORIZED", message }] },
        };
      }
      const { token, expiresInSeconds } = tokens.issue(username);
      return {
        status: 200,
        body: {
          token,
          access_token: token,
          expires_in: expiresInSeconds,
          issued_at: new Date().toISOString(),
        },
      };
    },
  };
}
