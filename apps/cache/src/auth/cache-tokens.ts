/**
 * Bearer tokens the cache issues to htpasswd users (the Docker token protocol's realm is the
 * cache itself, `/auth/token`). A token is `base64url(JSON {sub, exp}).base64url(HMAC-SHA256)`
 * keyed by http.secret when set — so replicas behind one Service accept each other's tokens,
 * which is what distribution uses http.secret for — else by a random key of this process.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export interface CacheTokens {
  issue(username: string): { token: string; expiresInSeconds: number };
  /** The user the token was issued to, or undefined when it is forged or expired. */
  verify(token: string): string | undefined;
}

export function createCacheTokens(options: {
  secret: string | undefined;
  ttlMs: number;
  now?: () => number;
}): CacheTokens {
  const key =
    options.secret === undefined
      ? randomBytes(32)
      : Buffer.from(`regmirror-cache-token:${options.secret}`);
  const now = options.now ?? Date.now;
  const sign = (payload: string) => createHmac("sha256", key).update(payload).digest();
  return {
    issue(username) {
      const payload = Buffer.from(
        JSON.stringify({ sub: username, exp: now() + options.ttlMs }),
      ).toString("base64url");
      return {
        token: `${payload}.${sign(payload).toString("base64url")}`,
        expiresInSeconds: Math.floor(options.ttlMs / 1000),
      };
    },
    verify(token) {
      const [payload, signature, extra] = token.split(".");
      if (payload === undefined || signature === undefined || extra !== undefined) return undefined;
      const given = Buffer.from(signature, "base64url");
      const expected = sign(payload);
      if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected))
        return undefined;
      try {
        const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
          sub?: unknown;
          exp?: unknown;
        };
        if (typeof claims.sub !== "string" || typeof claims.exp !== "number" || claims.exp <= now())
          return undefined;
        return claims.sub;
      } catch {
        return undefined;
      }
    },
  };
}
