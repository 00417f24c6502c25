import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import { expect, test } from "vitest";
import { describeCacheConfig } from "./describe-cache-config.js";

function authLine(yaml: string): string | undefined {
  return describeCacheConfig(loadCacheConfigFromYaml(yaml)).find((line) =>
    line.startsWith("client auth:"),
  );
}

test("check-config says which challenge htpasswd clients get, from http.host or the realm", () => {
  // A file names its upstream (ADR 0019).
  const auth =
    "proxy:\n  remoteurl: https://registry.example.com\nregmirror:\n  auth: { mode: htpasswd, htpasswdFile: /etc/htpasswd, realm: corp }\n";
  expect(authLine(auth)).toBe(
    'client auth:    htpasswd users from /etc/htpasswd, Basic challenge with realm "corp" (set http.host to send clients to its /auth/token for bearer tokens)',
  );
  expect(authLine(`http:\n  host: https://cache.example.com\n${auth}`)).toBe(
    "client auth:    htpasswd users from /etc/htpasswd, bearer tokens from https://cache.example.com/auth/token valid 5m",
  );
});
