import { describe, expect, test } from "vitest";
import { loadCacheConfigFromYaml, normalizeCacheConfig } from "../../src/index.js";
import { loadFixture, problemsOf, readFixture } from "./load-fixture.js";

describe("the MSR content cache file from the MSR docs", () => {
  test("is accepted unchanged and keeps its meaning", () => {
    const config = loadFixture("msr-content-cache.yml");
    expect(config.forms).toEqual(["msr-downstream", "distribution"]);
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 443 });
    expect(config.publicUrl).toBe("https://msr-cache.example.com");
    expect(config.tls).toEqual({
      certificateFile: "/certs/cache.cert.pem",
      keyFile: "/certs/cache.key.pem",
      minimumVersion: "TLSv1.2",
    });
    expect(config.httpSecret?.reveal()).toBe("generate-random-secret");
    expect(config.log.level).toBe("info");
    expect(config.storage).toEqual({ kind: "filesystem", rootDirectory: "/var/lib/registry" });
    expect(config.blobTtlMs).toBe(24 * 3_600_000);
    expect(config.upstreams).toEqual([
      {
        name: "msr.example.com",
        hosts: ["msr.example.com"],
        endpoints: ["https://msr.example.com"],
        credentials: { kind: "none" },
        caFiles: ["/certs/msr.cert.pem"],
      },
    ]);
    expect(config.defaultUpstream).toBe("msr.example.com");
    expect(config.auth).toEqual({ mode: "none" });
    expect(config.notices.map((notice) => notice.path)).toEqual(["storage.delete.enabled"]);
  });

  test("several upstreams of one registry become one upstream with failover endpoints", () => {
    const config = loadFixture("msr-content-cache-failover.yml");
    expect(config.upstreams).toHaveLength(1);
    expect(config.upstreams[0]?.endpoints).toEqual([
      "https://msr-1.example.com",
      "https://msr-2.example.com:8443",
    ]);
    expect(config.upstreams[0]?.caFiles).toEqual([
      "/certs/msr.cert.pem",
      "/certs/msr-intermediate.pem",
    ]);
    expect(config.blobTtlMs).toBe(30 * 60_000);
    expect(config.log.level).toBe("debug");
  });

  test("blobttl without a unit is nanoseconds, as the MSR docs say", () => {
    const text = readFixture("msr-content-cache.yml").replace(
      "blobttl: 24h",
      "blobttl: 3600000000000",
    );
    expect(loadCacheConfigFromYaml(text).blobTtlMs).toBe(3_600_000);
  });
});

describe("the CNCF distribution forms", () => {
  test("a proxy config.yml is accepted unchanged", () => {
    const config = loadFixture("distribution-proxy.yml");
    expect(config.forms).toEqual(["distribution-proxy", "distribution"]);
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 5000 });
    expect(config.storage).toEqual({ kind: "filesystem", rootDirectory: "/var/lib/registry" });
    expect(config.blobTtlMs).toBe(168 * 3_600_000);
    const [upstream] = config.upstreams;
    expect(upstream?.name).toBe("docker-hub");
    expect(upstream?.hosts).toEqual(["docker.io", "registry-1.docker.io", "index.docker.io"]);
    expect(upstream?.endpoints).toEqual(["https://registry-1.docker.io"]);
    expect(upstream?.credentials.kind).toBe("basic");
    if (upstream?.credentials.kind === "basic") {
      expect(upstream.credentials.username).toBe("mirror-bot");
      expect(upstream.credentials.password.reveal()).toBe("dckr_pat_not-a-real-token");
    }
    expect(config.log.fields).toEqual({ service: "registry" });
    expect(config.responseHeaders).toEqual({ "X-Content-Type-Options": ["nosniff"] });
    expect(config.notices.map((notice) => notice.path)).toEqual(["storage.cache", "health"]);
  });

  test("proxy.ttl 0 means content never expires (only the size cap evicts)", () => {
    const text = readFixture("distribution-proxy.yml").replace("ttl: 168h", "ttl: 0");
    expect(loadCacheConfigFromYaml(text).blobTtlMs).toBeNull();
  });

  test("the stock Debian docker-registry config.yml names no upstream: refused, not made a Docker Hub mirror", () => {
    expect(problemsOf(() => loadFixture("debian-docker-registry.yml"))).toEqual([
      {
        path: "",
        value: "a mapping",
        expected: expect.stringContaining(
          "the upstream registry to mirror: proxy.remoteurl (distribution)",
        ),
      },
    ]);
  });

  test("the stock Debian docker-registry config.yml with REGISTRY_PROXY_REMOTEURL is a proxy; its htpasswd auth is kept", () => {
    const config = loadCacheConfigFromYaml(
      readFixture("debian-docker-registry.yml"),
      "config.yml",
      {
        environment: { REGISTRY_PROXY_REMOTEURL: "https://quay.io" },
      },
    );
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 5000 });
    expect(config.storage).toEqual({
      kind: "filesystem",
      rootDirectory: "/var/lib/docker-registry",
    });
    expect(config.auth).toEqual({
      mode: "htpasswd",
      htpasswdFile: "/etc/docker/registry",
      realm: "basic-realm",
      tokenTtlMs: 5 * 60_000,
    });
    expect(config.upstreams.map((upstream) => upstream.endpoints)).toEqual([["https://quay.io"]]);
    expect(config.environmentOverrides).toEqual([
      { variable: "REGISTRY_PROXY_REMOTEURL", path: "proxy.remoteurl", secret: false },
    ]);
  });

  test("distribution's s3 driver keys map to S3 storage", () => {
    const config = normalizeCacheConfig({
      storage: {
        s3: {
          accesskey: "AKIAEXAMPLE",
          secretkey: "example-secret-key",
          region: "us-west-2",
          regionendpoint: "http://127.0.0.1:9000",
          forcepathstyle: true,
          bucket: "images",
          rootdirectory: "/registry",
          chunksize: 5242880,
        },
      },
    });
    expect(config.storage).toMatchObject({
      kind: "s3",
      bucket: "images",
      region: "us-west-2",
      endpoint: "http://127.0.0.1:9000",
      forcePathStyle: true,
      prefix: "registry",
      credentials: { mode: "static" },
    });
    expect(config.notices).toEqual([{ path: "storage.s3.chunksize", message: expect.any(String) }]);
  });

  test("http.debug.prometheus becomes the metrics endpoint on the debug address", () => {
    const config = normalizeCacheConfig({
      http: {
        addr: ":5000",
        debug: { addr: "127.0.0.1:5001", prometheus: { enabled: true, path: "/m" } },
      },
    });
    expect(config.metrics).toEqual({
      enabled: true,
      listen: { host: "127.0.0.1", port: 5001 },
      path: "/m",
    });
  });
});

describe("the built-in default", () => {
  const expectDockerHubMirror = (config: ReturnType<typeof normalizeCacheConfig>) => {
    expect(config.forms).toEqual(["built-in-default"]);
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 5000 });
    expect(config.storage).toEqual({ kind: "filesystem", rootDirectory: "./data" });
    expect(config.upstreams).toEqual([
      {
        name: "docker-hub",
        hosts: ["docker.io", "registry-1.docker.io", "index.docker.io"],
        endpoints: ["https://registry-1.docker.io"],
        credentials: { kind: "none" },
        caFiles: [],
      },
    ]);
    expect(config.defaultUpstream).toBe("docker-hub");
    expect(config.tls).toBeNull();
    expect(config.auth).toEqual({ mode: "none" });
    expect(config.metrics).toEqual({ enabled: true, listen: null, path: "/metrics" });
    expect(config.tagFreshnessMs).toBe(0);
    expect(config.sizeCap).toBeNull();
    expect(config.upstreamBounds).toEqual({
      staleAfterMs: 3_000,
      uncachedMs: 30_000,
      circuitBreaker: { failures: 3, openForMs: 30_000 },
    });
  };

  test("with no file the cache is a Docker Hub mirror storing under ./data on 0.0.0.0:5000", () => {
    expectDockerHubMirror(normalizeCacheConfig(undefined));
  });

  test("an empty file is refused: only running without a file gives the built-in default", () => {
    for (const text of ["", "# nothing set\n", "{}\n", "~\n"]) {
      expect(problemsOf(() => loadCacheConfigFromYaml(text, "config.yml"))).toEqual([
        {
          path: "",
          value: expect.stringMatching(/^\(an empty file\)|\{\} \(an empty mapping\)$/),
          expected: expect.stringContaining("an empty file is refused"),
        },
      ]);
    }
  });

  test("the effective configuration is frozen", () => {
    const config = normalizeCacheConfig(undefined);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.upstreams[0]?.hosts)).toBe(true);
  });
});
