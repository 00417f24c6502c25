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

test("check-config lists the peers, and never their secret", () => {
  const secret = "c2hhcmVkLWJ5LWV2ZXJ5LXJlcGxpY2Etb2YtdGhlLWNhY2hl";
  const lines = describeCacheConfig(
    loadCacheConfigFromYaml(
      `proxy:\n  remoteurl: https://registry.example.com\nregmirror:\n  peers:\n    self: http://10.0.0.2:5000\n    secret: ${secret}\n    members: { static: [http://10.0.0.1:5000, http://10.0.0.2:5000] }\n    timeout: 2s\n`,
    ),
  );
  const from = lines.findIndex((line) => line.startsWith("peers:"));
  expect(lines.slice(from, from + 5)).toEqual([
    "peers:          2 replicas (static list), each digest fetched from upstream by its owner only",
    "  self:         http://10.0.0.2:5000",
    "  members:      http://10.0.0.1:5000, http://10.0.0.2:5000",
    "  secret:       <redacted>",
    "  timeout:      2s (then the next replica, then upstream)",
  ]);
  expect(lines[from + 5]).not.toMatch(/^ {2}tls:/);
  expect(lines.join("\n")).not.toContain(secret);
});

test("check-config says where the status page is and who may see it, the admin API, the rate-limit policy", () => {
  const lines = (yaml: string) => describeCacheConfig(loadCacheConfigFromYaml(yaml));
  const upstream = "proxy:\n  remoteurl: https://registry.example.com\n";
  expect(lines(upstream)).toEqual(
    expect.arrayContaining([
      "status page:    /status (open to all: client auth is off)",
      "admin API:      off (no regmirror.admin credential)",
      "rate limits:    headroom 10% of the upstream's limit, back-off 1m after a 429 without Retry-After",
    ]),
  );
  const guarded = lines(
    `${upstream}regmirror:\n  auth: { mode: htpasswd, htpasswdFile: /etc/htpasswd }\n  admin: { password: admin-password-1 }\n  statusPage: { path: /ops/status }\n  rateLimits: { headroom: 5, backOff: 30s }\n`,
  );
  expect(guarded).toEqual(
    expect.arrayContaining([
      "status page:    /ops/status (the admin credential is required)",
      "admin API:      /admin/v1, user admin, password <redacted>",
      "rate limits:    headroom 5 pulls, back-off 30s after a 429 without Retry-After",
    ]),
  );
  expect(guarded.join("\n")).not.toContain("admin-password-1");
});

test("check-config names the Service whose ready endpoints are the peers, and the peers' TLS", () => {
  const secret = "c2hhcmVkLWJ5LWV2ZXJ5LXJlcGxpY2Etb2YtdGhlLWNhY2hl";
  const lines = describeCacheConfig(
    loadCacheConfigFromYaml(
      `proxy:\n  remoteurl: https://registry.example.com\nregmirror:\n  peers:\n    self: https://10.0.0.2:5000\n    secret: ${secret}\n    members: { kubernetes: { namespace: cache, service: regmirror-peers } }\n    tls: { caFile: /etc/ca.pem, serverName: regmirror.cache.svc }\n`,
    ),
  );
  expect(lines).toEqual(
    expect.arrayContaining([
      "peers:          the ready endpoints of a Service, each digest fetched from upstream by its owner only",
      "  members:      EndpointSlices of service cache/regmirror-peers, port (the first), http, read every 5s from https://kubernetes.default.svc",
      "  tls:          CA /etc/ca.pem, certificates checked for regmirror.cache.svc",
    ]),
  );
});

test("check-config names the DNS name whose addresses are the peers, and self built from the pod IP", () => {
  const secret = "c2hhcmVkLWJ5LWV2ZXJ5LXJlcGxpY2Etb2YtdGhlLWNhY2hl";
  const lines = describeCacheConfig(
    loadCacheConfigFromYaml(
      `http:\n  addr: :5000\nproxy:\n  remoteurl: https://registry.example.com\nregmirror:\n  peers:\n    selfAddress: fd00::7\n    secret: ${secret}\n    members: { dns: { name: regmirror-peers.cache.svc, port: 5000, server: 10.96.0.10 } }\n`,
    ),
  );
  expect(lines).toEqual(
    expect.arrayContaining([
      "peers:          the addresses of a DNS name, each digest fetched from upstream by its owner only",
      "  self:         http://[fd00::7]:5000",
      "  members:      A and AAAA records of regmirror-peers.cache.svc, port 5000, http, resolved every 5s by 10.96.0.10 (no answer keeps the last list)",
    ]),
  );
});
