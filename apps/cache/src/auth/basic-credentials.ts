import { createHash } from "node:crypto";

export interface BasicCredentials {
  username: string;
  password: string;
}

/** The credentials of an `Authorization: Basic ...` header; undefined for anything else. */
export function parseBasicAuthorization(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * A key for caching decisions about an Authorization header: a SHA-256 of it, so no
 * credential is kept in memory in a readable form nor ever appears in a log.
 */
export function credentialKey(header: string | undefined): string {
  if (header === undefined) return "anonymous";
  return createHash("sha256").update(header).digest("base64url");
}
