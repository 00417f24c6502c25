import { describe, expect, test } from "vitest";
import { loadCacheConfigFromYaml, normalizeCacheConfig } from "../../src/index.js";
import { problemsOf, readFixture } from "./load-fixture.js";

const msrFile = readFixture("msr-content-cache.yml");
const proxyFile = readFixture("distribution-proxy.yml");
const load = (text: string, environment: Record<string, string>) =>
  loadCacheConfigFromYaml(text, "config.yml", { environment });

describe("REGISTRY_* variables override keys, with distribution's rules", () => {
  test("the upstream and its credentials, as container users set them", () => {
    const config = load("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /data\n", {
      REGISTRY_PROXY_REMOTEURL: "https://registry.corp.example:5000",
      REGISTRY_PROXY_USERNAME: "mirror-bot",
      // Looks like a number: a string key takes the text as it is, as Go's YAML does.
      REGISTRY_PROXY_PASSWORD: "012345",
    });
    const [upstream] = config.upstreams;
    expect(upstream?.endpoints).toEqual(["https://registry.corp.example:5000"]);
    expect(upstream?.credentials).toMatchObject({ kind: "basic", username: "mirror-bot" });
    if (upstream?.credentials.kind === "basic")
      expect(upstream.credentials.password.reveal()).toBe("012345");
    expect(config.forms).toEqual(["distribution-proxy", "distribution"]);
    expect(config.environmentOverrides).toEqual([
      { variable: "REGISTRY_PROXY_PASSWORD", path: "proxy.password", secret: true },
      { variable: "REGISTRY_PROXY_REMOTEURL", path: "proxy.remoteurl", secret: false },
      { variable: "REGISTRY_PROXY_USERNAME", path: "proxy.username", secret: false },
    ]);
    expect(JSON.stringify(config)).not.toContain("012345");
  });

  test("a variable wins over the file; values are YAML for keys that are not strings", () => {
    const config = load(proxyFile, {
      REGISTRY_HTTP_ADDR: "127.0.0.1:6000",
      REGISTRY_HTTP_DRAINTIMEOUT: "5s",
      REGISTRY_LOG_LEVEL: "debug",
      REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
      REGISTRY_LOG_FIELDS_ENVIRONMENT: "staging",
      REGISTRY_REGMIRROR_TAGFRESHNESS: "5m",
    });
    expect(config.listen).toEqual({ host: "127.0.0.1", port: 6000 });
    expect(config.shutdownGraceMs).toBe(5000);
    expect(config.log).toMatchObject({ level: "debug", accessLog: false });
    // Inside a mapping of free names the key is the part in lower case.
    expect(config.log.fields).toEqual({ service: "registry", environment: "staging" });
    expect(config.tagFreshnessMs).toBe(300_000);
  });

  test("a section comes before its keys (lexical order), and a list entry by its index", () => {
    const config = load(msrFile, {
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/mnt/cache",
      REGISTRY_STORAGE_FILESYSTEM: "{rootdirectory: /ignored-because-the-key-comes-later}",
      REGISTRY_MIDDLEWARE_REGISTRY_0_OPTIONS_BLOBTTL: "1h",
    });
    expect(config.storage).toEqual({ kind: "filesystem", rootDirectory: "/mnt/cache" });
    expect(config.blobTtlMs).toBe(3_600_000);
  });

  test("variables that name no key are ignored with a notice, like the ones a Kubernetes Service named registry injects", () => {
    const config = load(proxyFile, {
      REGISTRY_PORT: "tcp://10.96.0.10:5000",
      REGISTRY_PORT_5000_TCP_ADDR: "10.96.0.10",
      REGISTRY_SERVICE_HOST: "10.96.0.10",
      REGISTRY_PROXY_PASWORD: "hunter2",
      registry_proxy_remoteurl: "https://not-read.example",
    });
    expect(config.upstreams[0]?.endpoints).toEqual(["https://registry-1.docker.io"]);
    expect(config.notices.filter((notice) => notice.path.startsWith("REGISTRY_"))).toEqual([
      { path: "REGISTRY_PORT", message: expect.stringContaining('names no key "port"') },
      { path: "REGISTRY_PORT_5000_TCP_ADDR", message: expect.any(String) },
      {
        path: "REGISTRY_PROXY_PASWORD",
        message: expect.stringContaining("(did you mean PASSWORD?)"),
      },
      { path: "REGISTRY_SERVICE_HOST", message: expect.any(String) },
    ]);
    expect(JSON.stringify(config)).not.toContain("hunter2");
  });

  test("a bad value names the variable and never shows a secret", () => {
    const problems = problemsOf(() =>
      load(proxyFile, {
        REGISTRY_PROXY_REMOTEURL: "https://bot:hunter2@quay.io",
        REGISTRY_HTTP_DRAINTIMEOUT: "[unclosed",
        REGISTRY_MIDDLEWARE_REGISTRY_3_NAME: "downstream",
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          path: "http.draintimeout",
          value: "(from REGISTRY_HTTP_DRAINTIMEOUT)",
          expected: expect.stringContaining("valid YAML in REGISTRY_HTTP_DRAINTIMEOUT"),
        },
        {
          path: "middleware.registry",
          value: "3 (from REGISTRY_MIDDLEWARE_REGISTRY_3_NAME)",
          expected: "a list index from 0 to 0 (0 adds an entry)",
        },
        {
          path: "proxy.remoteurl",
          value: '"https://<redacted>@quay.io" (from REGISTRY_PROXY_REMOTEURL)',
          expected: expect.stringContaining("a registry URL"),
        },
      ]),
    );
    expect(JSON.stringify(problems)).not.toContain("hunter2");
  });

  test("without a file, the variables apply to the built-in default", () => {
    const config = normalizeCacheConfig(undefined, {
      environment: { REGISTRY_PROXY_REMOTEURL: "https://ghcr.io", REGISTRY_HTTP_ADDR: ":5001" },
    });
    expect(config.forms).toEqual(["built-in-default", "distribution-proxy", "distribution"]);
    expect(config.upstreams.map((upstream) => upstream.name)).toEqual(["ghcr.io"]);
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 5001 });
  });
});
