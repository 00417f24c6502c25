import { describe, expect, test } from "vitest";
import { normalizeCacheConfig } from "../../src/index.js";
import { loadFixture, problemsOf } from "./load-fixture.js";

describe("native keys (regmirror:)", () => {
  test("several upstreams, each with its hosts, endpoints, credentials and CA bundle", () => {
    const config = loadFixture("native-multi-upstream.yml");
    expect(config.forms).toEqual(["distribution", "native"]);
    expect(
      config.upstreams.map(({ name, hosts, endpoints, caFiles }) => ({
        name,
        hosts,
        endpoints,
        caFiles,
      })),
    ).toEqual([
      {
        name: "docker-hub",
        hosts: ["docker.io", "registry-1.docker.io", "index.docker.io"],
        endpoints: ["https://registry-1.docker.io"],
        caFiles: [],
      },
      { name: "ghcr", hosts: ["ghcr.io"], endpoints: ["https://ghcr.io"], caFiles: [] },
      {
        name: "corp",
        hosts: ["registry.corp.example", "registry.corp.example:5000"],
        endpoints: ["https://registry-a.corp.example:5000", "https://registry-b.corp.example:5000"],
        caFiles: ["/etc/regmirror/corp-ca.pem"],
      },
    ]);
    expect(config.upstreams[0]?.credentials).toMatchObject({
      kind: "basic",
      username: "mirror-bot",
    });
    expect(config.upstreams[1]?.credentials).toEqual({
      kind: "docker-config",
      file: "/etc/regmirror/docker/config.json",
    });
    expect(config.upstreams[2]?.credentials).toEqual({ kind: "none" });
    expect(config.defaultUpstream).toBe("docker-hub");
  });

  test("S3 storage, size cap, TTL, tag freshness, auth and metrics", () => {
    const config = loadFixture("native-multi-upstream.yml");
    expect(config.storage).toMatchObject({
      kind: "s3",
      bucket: "regmirror-cache",
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:9000",
      forcePathStyle: true,
      prefix: "cache",
    });
    if (config.storage.kind === "s3" && config.storage.credentials.mode === "static") {
      expect(config.storage.credentials.accessKeyId.reveal()).toBe("AKIAEXAMPLEKEYID");
      expect(config.storage.credentials.secretAccessKey.reveal()).toBe(
        "not-a-real-secret-access-key",
      );
    } else {
      expect.unreachable("static S3 credentials expected");
    }
    expect(config.sizeCap).toEqual({ maxBytes: 50 * 2 ** 30, lowWaterBytes: 40 * 2 ** 30 });
    expect(config.blobTtlMs).toBe(14 * 86_400_000);
    expect(config.tagFreshnessMs).toBe(5 * 60_000);
    expect(config.auth).toEqual({ mode: "pass-through", decisionTtlMs: 30_000 });
    expect(config.metrics).toEqual({
      enabled: true,
      listen: { host: "0.0.0.0", port: 9090 },
      path: "/metrics",
    });
    expect(config.log.level).toBe("warn");
  });

  test("hosts default to the endpoints' hosts; the first upstream is the default", () => {
    const config = normalizeCacheConfig({
      regmirror: {
        upstreams: [
          { name: "quay", endpoints: ["https://quay.io"] },
          { name: "local", endpoints: ["http://127.0.0.1:5001"] },
        ],
      },
    });
    expect(config.upstreams.map((upstream) => upstream.hosts)).toEqual([
      ["quay.io"],
      ["127.0.0.1:5001"],
    ]);
    expect(config.defaultUpstream).toBe("quay");
  });

  test("defaultUpstream: null refuses requests that name no registry", () => {
    const config = normalizeCacheConfig({
      regmirror: {
        upstreams: [{ name: "quay", endpoints: ["https://quay.io"] }],
        defaultUpstream: null,
      },
    });
    expect(config.defaultUpstream).toBeNull();
  });

  test("a size cap's low-water mark defaults to 90% and may be a size", () => {
    const capped = (storage: object) => normalizeCacheConfig({ regmirror: { storage } }).sizeCap;
    expect(capped({ maxSize: "10GB" })).toEqual({ maxBytes: 10e9, lowWaterBytes: 9e9 });
    expect(capped({ maxSize: "1GiB", lowWater: "512MiB" })).toEqual({
      maxBytes: 2 ** 30,
      lowWaterBytes: 2 ** 29,
    });
    expect(capped({ maxSize: 1000 })).toEqual({ maxBytes: 1000, lowWaterBytes: 900 });
  });

  test("S3 credential modes: env by default, web-identity with role and token file", () => {
    const s3 = (extra: object) =>
      normalizeCacheConfig({ regmirror: { storage: { s3: { bucket: "b", ...extra } } } }).storage;
    expect(s3({})).toMatchObject({
      region: "us-east-1",
      credentials: { mode: "env" },
      forcePathStyle: false,
    });
    expect(
      s3({
        credentials: {
          mode: "web-identity",
          roleArn: "arn:aws:iam::1:role/r",
          tokenFile: "/var/run/token",
        },
      }),
    ).toMatchObject({
      credentials: {
        mode: "web-identity",
        roleArn: "arn:aws:iam::1:role/r",
        tokenFile: "/var/run/token",
      },
    });
  });

  test("auth htpasswd gives clients bearer tokens; realm and token TTL have defaults", () => {
    const config = normalizeCacheConfig({
      regmirror: { auth: { mode: "htpasswd", htpasswdFile: "/etc/htpasswd" } },
    });
    expect(config.auth).toEqual({
      mode: "htpasswd",
      htpasswdFile: "/etc/htpasswd",
      realm: "regmirror",
      tokenTtlMs: 300_000,
    });
  });

  test("MSR's file with native additions: the downstream upstream plus a size cap", () => {
    const config = normalizeCacheConfig({
      middleware: {
        registry: [{ name: "downstream", options: { upstreams: ["https://msr.example.com"] } }],
      },
      regmirror: { storage: { maxSize: "100GiB" }, tagFreshness: "1m" },
    });
    expect(config.forms).toEqual(["msr-downstream", "native"]);
    expect(config.upstreams[0]?.endpoints).toEqual(["https://msr.example.com"]);
    expect(config.sizeCap?.maxBytes).toBe(100 * 2 ** 30);
    expect(config.tagFreshnessMs).toBe(60_000);
  });
});

describe("upstream timeouts and the circuit breaker", () => {
  test("are set in the regmirror section, next to a distribution proxy form", () => {
    const config = normalizeCacheConfig({
      proxy: { remoteurl: "https://registry-1.docker.io" },
      regmirror: {
        upstreamTimeouts: { staleAfter: "1500ms", uncached: "10s" },
        circuitBreaker: { failures: 5, openFor: "1m" },
      },
    });
    expect(config.forms).toEqual(["distribution-proxy", "native"]);
    expect(config.upstreamBounds).toEqual({
      staleAfterMs: 1_500,
      uncachedMs: 10_000,
      circuitBreaker: { failures: 5, openForMs: 60_000 },
    });
  });

  test("each key left out keeps its default; failures 0 turns the breaker off", () => {
    const config = normalizeCacheConfig({ regmirror: { circuitBreaker: { failures: 0 } } });
    expect(config.upstreamBounds).toEqual({
      staleAfterMs: 3_000,
      uncachedMs: 30_000,
      circuitBreaker: { failures: 0, openForMs: 30_000 },
    });
  });
});

describe("settings that contradict each other", () => {
  test("upstreams from two forms", () => {
    expect(
      problemsOf(() =>
        normalizeCacheConfig({
          proxy: { remoteurl: "https://registry-1.docker.io" },
          regmirror: { upstreams: [{ name: "quay", endpoints: ["https://quay.io"] }] },
        }),
      ),
    ).toEqual([
      {
        path: "proxy",
        value: "a mapping",
        expected:
          "upstream registries set in one place only; it is already set by regmirror.upstreams",
      },
    ]);
  });

  test("two storage backends, two TTLs, two auth settings", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        storage: { filesystem: { rootdirectory: "/a" } },
        proxy: { remoteurl: "https://quay.io", ttl: "1h" },
        auth: { htpasswd: { realm: "r", path: "/p" } },
        regmirror: {
          storage: { s3: { bucket: "b" } },
          blobTtl: "2h",
          auth: { mode: "none" },
        },
      }),
    );
    expect(problems.map((problem) => problem.path)).toEqual([
      "proxy.ttl",
      "storage.filesystem",
      "auth.htpasswd",
    ]);
  });

  test("a host claimed by two upstreams, a duplicate name, an unknown default", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        regmirror: {
          upstreams: [
            { name: "a", endpoints: ["https://quay.io"] },
            { name: "b", hosts: ["quay.io"], endpoints: ["https://mirror.example"] },
            { name: "a", endpoints: ["https://ghcr.io"] },
          ],
          defaultUpstream: "c",
        },
      }),
    );
    expect(problems).toEqual([
      {
        path: "regmirror.upstreams[1].hosts",
        value: "a list of 1",
        expected: expect.stringContaining("quay.io is already served by a"),
      },
      {
        path: "regmirror.upstreams[2].name",
        value: '"a"',
        expected: expect.stringContaining("a name no other upstream has"),
      },
      {
        path: "regmirror.defaultUpstream",
        value: '"c"',
        expected: expect.stringContaining("(a, b, a)"),
      },
    ]);
  });

  test("keys that do not belong to the chosen mode", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        regmirror: {
          auth: { mode: "pass-through", htpasswdFile: "/etc/htpasswd" },
          storage: { s3: { bucket: "b", credentials: { mode: "static", accessKeyId: "AKIA" } } },
        },
      }),
    );
    expect(problems).toEqual([
      {
        path: "regmirror.storage.s3.credentials.secretAccessKey",
        value: "(missing)",
        expected: "a secret access key for mode static",
      },
      {
        path: "regmirror.auth.htpasswdFile",
        value: '"/etc/htpasswd"',
        expected: "no htpasswdFile with mode pass-through",
      },
    ]);
  });

  test("a low-water mark at or above the cap, and metrics on the main listener's address", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        http: { addr: "0.0.0.0:5000" },
        regmirror: {
          storage: { maxSize: "1GiB", lowWater: "2GiB" },
          metrics: { address: "0.0.0.0:5000" },
        },
      }),
    );
    expect(problems.map((problem) => [problem.path, problem.value])).toEqual([
      ["regmirror.metrics.address", '"0.0.0.0:5000"'],
      ["regmirror.storage.lowWater", '"2GiB"'],
    ]);
  });
});

describe("the admin credential, the status page and rate limits", () => {
  test("defaults: no admin credential, the page at /status, headroom 10% and a 60 s back-off", () => {
    const config = normalizeCacheConfig({});
    expect(config.admin).toBeNull();
    expect(config.statusPage).toEqual({ enabled: true, path: "/status" });
    expect(config.rateLimits).toEqual({ headroom: { percent: 10 }, backOffMs: 60_000 });
  });

  test("each is set in the regmirror section; the password stays redacted", () => {
    const config = normalizeCacheConfig({
      regmirror: {
        admin: { username: "ops", password: "correct horse battery" },
        statusPage: { path: "/cache/status" },
        rateLimits: { headroom: 25, backOff: "2m" },
      },
    });
    expect(config.admin?.username).toBe("ops");
    expect(config.admin?.password.reveal()).toBe("correct horse battery");
    expect(JSON.stringify(config)).not.toContain("correct horse");
    expect(config.statusPage).toEqual({ enabled: true, path: "/cache/status" });
    expect(config.rateLimits).toEqual({ headroom: { pulls: 25 }, backOffMs: 120_000 });
    expect(
      normalizeCacheConfig({ regmirror: { statusPage: { enabled: false } } }).statusPage.enabled,
    ).toBe(false);
  });

  test("bad values name the key, the value and what was expected", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        regmirror: {
          admin: { password: "short" },
          statusPage: { path: "status/" },
          rateLimits: { headroom: "lots", backOff: "0s" },
        },
      }),
    );
    expect(problems).toEqual([
      {
        path: "regmirror.admin.password",
        value: "<redacted>",
        expected: "a password of at least 8 characters",
      },
      {
        path: "regmirror.statusPage.path",
        value: '"status/"',
        expected: expect.stringContaining("a path starting with /"),
      },
      {
        path: "regmirror.rateLimits.headroom",
        value: '"lots"',
        expected: "a number of pulls like 10, or a percentage of the upstream's limit like 10%",
      },
      {
        path: "regmirror.rateLimits.backOff",
        value: '"0s"',
        expected: "a duration above zero like 3s or 30s",
      },
    ]);
  });

  test("the status page cannot take a path the cache answers itself", () => {
    for (const path of ["/v2", "/v2/status", "/metrics", "/admin/status", "/healthz"]) {
      expect(
        problemsOf(() => normalizeCacheConfig({ regmirror: { statusPage: { path } } })),
      ).toEqual([
        {
          path: "regmirror.statusPage.path",
          value: JSON.stringify(path),
          expected: expect.stringMatching(/^a path outside \/\w+ \(the cache answers/),
        },
      ]);
    }
  });

  test("an admin section without a password is refused", () => {
    expect(
      problemsOf(() => normalizeCacheConfig({ regmirror: { admin: { username: "ops" } } })),
    ).toEqual([
      {
        path: "regmirror.admin.password",
        value: "(missing)",
        expected: expect.stringContaining("string"),
      },
    ]);
  });
});
