// Secrets kept out of problems: secret keys, look-alike keys, and credentials in URLs.
import type { ConfigPath } from "./config-path.js";
import { closestKey } from "./schema-keys.js";
import { redactedText } from "./secret-value.js";

// Keys whose values are secrets, in any of the three forms (compared case-insensitively).
const secretKeyNames = new Set([
  "password",
  "secret",
  "secretkey",
  "secretaccesskey",
  "sessiontoken",
  "accesskey",
  "accesskeyid",
  "token",
]);

// An unknown key that looks like one of those (a misspelling of `password`, say) is treated as
// a secret too: its value is never printed.
const secretLookingKey = /pass|pw|secret|token|cred|key|auth/i;

export function isSecretPath(path: ConfigPath): boolean {
  const last = path.at(-1);
  return typeof last === "string" && secretKeyNames.has(last.toLowerCase());
}

export function looksLikeSecretKey(key: string): boolean {
  return secretLookingKey.test(key) || closestKey(key, [...secretKeyNames]) !== undefined;
}

/**
 * Hides what could be a credential inside a value shown in an error: the userinfo of a URL or
 * host (`https://user:pass@host`, ` user:pass@host`, anywhere in the text) and the values of
 * query parameters (`?token=...`).
 */
export function redactUrlCredentials(text: string): string {
  return text
    .replace(/((?:[a-z][a-z0-9+.-]*:\/\/)?)[^\s/@]*@/gi, `$1${redactedText}@`)
    .replace(/([?&][^=&#\s]*=)[^&#\s]*/g, `$1${redactedText}`);
}

/** Renders a value found in the file for an error message, never showing a secret. */
export function describeValue(value: unknown, path: ConfigPath): string {
  if (value === undefined) return "(missing)";
  if (isSecretPath(path)) return redactedText;
  if (value === null) return "null";
  if (typeof value === "string") {
    const safe = redactUrlCredentials(value);
    return JSON.stringify(safe.length > 120 ? `${safe.slice(0, 117)}...` : safe);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value))
    return value.length === 0 ? "[] (empty list)" : `a list of ${value.length}`;
  if (typeof value === "object") return "a mapping";
  return typeof value;
}
