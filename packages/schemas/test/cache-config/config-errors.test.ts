import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  CacheConfigError,
  formatConfigProblems,
  loadCacheConfigFromYaml,
  normalizeCacheConfig,
} from "../../src/index.js";
import { problemsOf, readFixture } from "./load-fixture.js";

const msrFile = readFixture("msr-content-cache.yml");
const proxyFile = readFixture("distribution-proxy.yml");
const nativeFile = readFixture("native-multi-upstream.yml");

/** The MSR docs file with one line changed. */
const msrWith = (from: string, to: string) => {
  expect(msrFile).toContain(from);
  return () => loadCacheConfigFromYaml(msrFile.replace(from, to));
};

describe("a misspelled key names its path, its value and the keys that fit", () => {
  test("at the top level", () => {
    expect(problemsOf(msrWith("storage:", "stroage:"))).toEqual([
      {
        path: "stroage",
        value: "a mapping",
        expected: expect.stringMatching(
          /^no key "stroage" here \(did you mean storage\?\); this section accepts: version, log,/,
        ),
      },
    ]);
  });

  test("two levels down", () => {
    expect(problemsOf(msrWith("rootdirectory:", "rootdirectroy:"))).toEqual([
      {
        path: "storage.filesystem.rootdirectroy",
        value: '"/var/lib/registry"',
        expected:
          'no key "rootdirectroy" here (did you mean rootdirectory?); this section accepts: rootdirectory, maxthreads',
      },
      // and the key it was meant to be is now missing
      {
        path: "storage.filesystem.rootdirectory",
        value: "(missing)",
        expected: "a file path",
      },
    ]);
  });

  test("inside the middleware list", () => {
    const problems = problemsOf(msrWith("blobttl:", "blob_ttl:"));
    expect(problems).toEqual([
      {
        path: "middleware.registry[0].options.blob_ttl",
        value: '"24h"',
        expected: expect.stringContaining("(did you mean blobttl?)"),
      },
    ]);
  });

  test("distribution spelling in a regmirror section suggests the camelCase key", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({ regmirror: { storage: { filesystem: { rootdirectory: "/data" } } } }),
    );
    expect(problems[0]).toEqual({
      path: "regmirror.storage.filesystem.rootdirectory",
      value: '"/data"',
      expected:
        'no key "rootdirectory" here (did you mean rootDirectory?); this section accepts: rootDirectory',
    });
  });

  test("in the native upstream list", () => {
    const problems = problemsOf(() =>
      loadCacheConfigFromYaml(
        nativeFile.replace("endpoints: [https://ghcr.io]", "endpoint: [https://ghcr.io]"),
      ),
    );
    expect(problems.map((problem) => [problem.path, problem.value])).toEqual([
      ["regmirror.upstreams[1].endpoint", "a list of 1"],
      ["regmirror.upstreams[1].endpoints", "(missing)"],
    ]);
    expect(problems[0]?.expected).toContain("did you mean endpoints?");
    expect(problems[1]?.expected).toBe("a list of registry URLs, tried in order");
  });
});

describe("a bad value names its path, the value and what was expected", () => {
  test("a duration that is not one", () => {
    expect(problemsOf(msrWith("blobttl: 24h", "blobttl: 24 hours"))).toEqual([
      {
        path: "middleware.registry[0].options.blobttl",
        value: '"24 hours"',
        expected: "a duration like 24h, 30m, 1h30m, 500ms or 7d (0 for none)",
      },
    ]);
  });

  test("a bare number where a unit is required", () => {
    expect(problemsOf(() => normalizeCacheConfig({ regmirror: { tagFreshness: 300 } }))).toEqual([
      {
        path: "regmirror.tagFreshness",
        value: "300",
        expected: expect.stringContaining("(a bare number is ambiguous: add a unit)"),
      },
    ]);
  });

  test("workers that are not a whole number from 1 to 64, and workers on S3 storage", () => {
    for (const workers of [0, 1.5, 65, "2"]) {
      expect(problemsOf(() => normalizeCacheConfig({ regmirror: { workers } }))).toEqual([
        {
          path: "regmirror.workers",
          value: JSON.stringify(workers),
          expected: "a whole number of worker processes from 1 to 64",
        },
      ]);
    }
    expect(
      problemsOf(() =>
        normalizeCacheConfig({
          proxy: { remoteurl: "https://registry.example" },
          storage: { s3: { bucket: "b", region: "r" } },
          regmirror: { workers: 2 },
        }),
      ),
    ).toEqual([
      {
        path: "regmirror.workers",
        value: "2",
        expected: "1 with S3 storage (more workers need a filesystem store)",
      },
    ]);
  });

  test("upstream timeouts of zero, a negative breaker count and a misspelled key", () => {
    expect(
      problemsOf(() =>
        normalizeCacheConfig({
          regmirror: {
            upstreamTimeouts: { staleAfter: 0, uncached: "soon" },
            circuitBreaker: { failures: -1, openFr: "10s" },
          },
        }),
      ),
    ).toEqual([
      {
        path: "regmirror.circuitBreaker.openFr",
        value: '"10s"',
        expected: expect.stringContaining("did you mean openFor?"),
      },
      {
        path: "regmirror.upstreamTimeouts.staleAfter",
        value: "0",
        expected: "a duration above zero like 3s or 30s",
      },
      {
        path: "regmirror.upstreamTimeouts.uncached",
        value: '"soon"',
        expected: "a duration above zero like 3s or 30s",
      },
      {
        path: "regmirror.circuitBreaker.failures",
        value: "-1",
        expected: "a whole number of failed requests (0: never open)",
      },
    ]);
  });

  test("a size with an unknown unit", () => {
    expect(
      problemsOf(() => normalizeCacheConfig({ regmirror: { storage: { maxSize: "50G" } } })),
    ).toEqual([
      {
        path: "regmirror.storage.maxSize",
        value: '"50G"',
        expected: expect.stringMatching(/^a size like 50GiB, 512MiB or 10GB/),
      },
    ]);
  });

  test("an upstream that is not a registry URL", () => {
    expect(
      problemsOf(msrWith("- https://msr.example.com:443", "- msr.example.com:443")).map(
        (problem) => [problem.path, problem.value],
      ),
    ).toEqual([["middleware.registry[0].options.upstreams[0]", '"msr.example.com:443"']]);
    expect(
      problemsOf(msrWith("- https://msr.example.com:443", "- https://msr.example.com/v2/"))[0]
        ?.expected,
    ).toMatch(/^a registry URL like https:\/\/registry.example.com/);
  });

  test("a listen address without a port", () => {
    expect(problemsOf(msrWith("addr: 0.0.0.0:443", "addr: 0.0.0.0"))).toEqual([
      { path: "http.addr", value: '"0.0.0.0"', expected: expect.stringContaining("host:port") },
    ]);
  });

  test("a value of the wrong type", () => {
    expect(problemsOf(msrWith("level: info", "level: [info]"))).toEqual([
      {
        path: "log.level",
        value: "a list of 1",
        expected: "one of: panic, fatal, error, warn, warning, info, debug, trace",
      },
    ]);
    expect(problemsOf(msrWith("  tls:\n", "  tls: yes\n  tls_:\n"))).toEqual(
      expect.arrayContaining([
        { path: "http.tls", value: '"yes"', expected: "a mapping (key: value)" },
      ]),
    );
    expect(
      problemsOf(() => normalizeCacheConfig({ regmirror: { upstreams: { name: "quay" } } })),
    ).toEqual([
      {
        path: "regmirror.upstreams",
        value: "a mapping",
        expected: "a list of upstream registries",
      },
    ]);
  });

  test("a required key that is missing", () => {
    expect(
      problemsOf(() => normalizeCacheConfig({ proxy: { username: "bot", password: "pw" } })),
    ).toEqual([
      {
        path: "proxy.remoteurl",
        value: "(missing)",
        expected: expect.stringMatching(/^a registry URL/),
      },
    ]);
    expect(problemsOf(() => normalizeCacheConfig({ regmirror: { auth: {} } }))).toEqual([
      {
        path: "regmirror.auth.mode",
        value: "(missing)",
        expected: "one of: none, htpasswd, pass-through",
      },
    ]);
  });

  test("a distribution feature regmirror does not support is refused with the reason", () => {
    expect(problemsOf(() => normalizeCacheConfig({ storage: { inmemory: {} } }))).toEqual([
      {
        path: "storage.inmemory",
        value: "a mapping",
        expected: expect.stringContaining(
          "this key to be absent: regmirror stores in a filesystem or in S3",
        ),
      },
    ]);
  });

  test("a document that is not a mapping", () => {
    expect(problemsOf(() => loadCacheConfigFromYaml("- just\n- a list\n"))).toEqual([
      { path: "", value: "a list of 2", expected: "a mapping (key: value)" },
    ]);
  });

  test("every problem in the file is reported at once", () => {
    const problems = problemsOf(() =>
      loadCacheConfigFromYaml(
        msrFile
          .replace("blobttl: 24h", "blobttl: soon")
          .replace("addr: 0.0.0.0:443", "adr: 0.0.0.0:443"),
      ),
    );
    expect(problems.map((problem) => problem.path)).toEqual([
      "http.adr",
      "middleware.registry[0].options.blobttl",
    ]);
  });
});

describe("YAML that does not parse", () => {
  test("gives line and column but not the line's text, which could hold a password", () => {
    const text = proxyFile.replace(
      "  password: dckr_pat_not-a-real-token",
      "  password: dckr_pat_not-a-real-token\n   bad: [indent",
    );
    const problems = problemsOf(() => loadCacheConfigFromYaml(text, "config.yml"));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]?.value).toMatch(/^YAML syntax error at line \d+, column \d+ of config.yml/);
    expect(JSON.stringify(problems)).not.toContain("dckr_pat");
  });

  test("a key given twice is an error, not a silent override", () => {
    const problems = problemsOf(() =>
      loadCacheConfigFromYaml("http:\n  addr: :5000\nhttp:\n  addr: :6000\n"),
    );
    expect(problems[0]?.value).toContain("DUPLICATE_KEY");
  });
});

describe("secrets never appear in errors or in the effective configuration's output", () => {
  test("a password of the wrong type is shown as <redacted>", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        proxy: { remoteurl: "https://quay.io", username: "bot", password: 12345678 },
      }),
    );
    expect(problems).toEqual([
      { path: "proxy.password", value: "<redacted>", expected: expect.any(String) },
    ]);
  });

  test("a misspelled secret key's value is not printed", () => {
    const problems = problemsOf(() =>
      loadCacheConfigFromYaml(
        proxyFile.replace(
          "password: dckr_pat_not-a-real-token",
          "passwrod: dckr_pat_not-a-real-token",
        ),
      ),
    );
    expect(problems[0]).toEqual({
      path: "proxy.passwrod",
      value: "<redacted>",
      expected: expect.stringContaining("did you mean password?"),
    });
    expect(JSON.stringify(problems)).not.toContain("dckr_pat");
  });

  test.each(["pasword", "passwd", "pw", "secert", "Password"])("nor is the value of %j", (key) => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        proxy: { remoteurl: "https://quay.io", username: "bot", [key]: "hunter2-value" },
      }),
    );
    expect(problems[0]).toMatchObject({ path: `proxy.${key}`, value: "<redacted>" });
    expect(JSON.stringify(problems)).not.toContain("hunter2");
  });

  test("http.secret and S3 keys are not printed when wrong", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        http: { secret: ["s3cr3t-value"] },
        storage: { s3: { bucket: "b", region: "r", secretkey: { nested: "s3cr3t-key" } } },
      }),
    );
    expect(problems.map((problem) => [problem.path, problem.value])).toEqual([
      ["storage.s3.secretkey", "<redacted>"],
      ["http.secret", "<redacted>"],
    ]);
  });

  test("a URL with user:password@ is refused without showing the password", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({ proxy: { remoteurl: "https://bot:hunter2@quay.io" } }),
    );
    expect(problems).toEqual([
      {
        path: "proxy.remoteurl",
        value: '"https://<redacted>@quay.io"',
        expected: expect.stringContaining("no user:password@"),
      },
    ]);
  });

  test.each([
    [" https://bot:hunter2@quay.io", '" https://<redacted>@quay.io"'],
    ["bot:hunter2@quay.io", '"<redacted>@quay.io"'],
    ["https://quay.io/?token=hunter2&x=1", '"https://quay.io/?token=<redacted>&x=<redacted>"'],
  ])("nor credentials anywhere in a refused URL: %j", (remoteurl, shown) => {
    const problems = problemsOf(() => normalizeCacheConfig({ proxy: { remoteurl } }));
    expect(problems.map((problem) => [problem.path, problem.value])).toEqual([
      ["proxy.remoteurl", shown],
    ]);
  });

  test("the error message and the effective configuration print secrets as <redacted>", () => {
    const config = loadCacheConfigFromYaml(nativeFile);
    const printed = [
      JSON.stringify(config),
      inspect(config, { depth: 10 }),
      `${config.httpSecret}`,
    ].join("\n");
    for (const secret of [
      "dckr_pat_not-a-real-token",
      "AKIAEXAMPLEKEYID",
      "not-a-real-secret-access-key",
    ]) {
      expect(printed).not.toContain(secret);
    }
    expect(printed).toContain("<redacted>");

    const msr = loadCacheConfigFromYaml(msrFile);
    expect(JSON.stringify(msr)).not.toContain("generate-random-secret");

    const error = (() => {
      try {
        normalizeCacheConfig({
          proxy: { remoteurl: "https://quay.io", password: "hunter2-password" },
        });
      } catch (caught) {
        return caught;
      }
    })();
    expect(CacheConfigError.isInstance(error)).toBe(true);
    expect(String(error)).toContain("proxy.username");
    expect(String(error)).not.toContain("hunter2");
    if (CacheConfigError.isInstance(error)) {
      expect(formatConfigProblems(error.problems)).toBe(
        "  - proxy.username = (missing): expected a username next to the password",
      );
    }
  });
});

describe("every problem of a file in one pass", () => {
  test("an unknown defaultUpstream shows up next to a misspelled key and a bad value", () => {
    const text = `${nativeFile}\n`.replace(/defaultUpstream: .*/, "defaultUpstream: quay");
    const problems = problemsOf(() =>
      loadCacheConfigFromYaml(
        text.replace("blobTtl:", "blobTTL:").replace(/tagFreshness: .*/, "tagFreshness: soon"),
      ),
    );
    expect(problems.map((problem) => problem.path)).toEqual([
      "regmirror.blobTTL",
      "regmirror.tagFreshness",
      "regmirror.defaultUpstream",
    ]);
  });

  test("a bad value inside the MSR middleware does not hide an unknown defaultUpstream", () => {
    const problems = problemsOf(() =>
      loadCacheConfigFromYaml(
        `${msrFile.replace("blobttl: 24h", "blobttl: one day")}regmirror:\n  defaultUpstream: quay\n`,
      ),
    );
    expect(problems.map((problem) => problem.path)).toEqual([
      "middleware.registry[0].options.blobttl",
      "regmirror.defaultUpstream",
    ]);
  });

  test("a setting given twice shows up next to a bad value elsewhere", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        proxy: { remoteurl: "https://quay.io", ttl: "1h" },
        regmirror: { blobTtl: "2h", upstreams: [{ name: "ghcr", endpoints: ["https://ghcr.io"] }] },
        http: { addr: "not an address" },
      }),
    );
    expect(problems.map((problem) => problem.path)).toEqual(["http.addr", "proxy", "proxy.ttl"]);
  });

  test("a broken upstream entry does not make its name look unknown to defaultUpstream", () => {
    const problems = problemsOf(() =>
      normalizeCacheConfig({
        regmirror: {
          upstreams: [{ name: "corp", endpoints: ["not a url"] }],
          defaultUpstream: "corp",
        },
      }),
    );
    expect(problems.map((problem) => problem.path)).toEqual([
      "regmirror.upstreams[0].endpoints[0]",
    ]);
  });
});

describe("http.headers, log.formatter and regmirror.caBundles", () => {
  test("http.headers become response headers; a line break or a connection header is refused", () => {
    expect(
      normalizeCacheConfig({
        http: { headers: { "X-Content-Type-Options": ["nosniff"], "X-Frame-Options": "DENY" } },
      }).responseHeaders,
    ).toEqual({ "X-Content-Type-Options": ["nosniff"], "X-Frame-Options": ["DENY"] });
    expect(
      problemsOf(() =>
        normalizeCacheConfig({
          http: { headers: { "X-Evil": ["a\r\nSet-Cookie: x"], Connection: ["close"] } },
        }),
      ),
    ).toEqual([
      {
        path: "http.headers.X-Evil",
        value: "a list of 1",
        expected: "a list of header values like [nosniff] (no line breaks)",
      },
      {
        path: "http.headers.Connection",
        value: "a list of 1",
        expected: expect.stringMatching(/^a header name other than connection, keep-alive/),
      },
    ]);
  });

  test("log.formatter: text for people, json by default, logstash logged as json with a notice", () => {
    expect(normalizeCacheConfig({}).log.format).toBe("json");
    expect(normalizeCacheConfig({ log: { formatter: "text" } }).log.format).toBe("text");
    const logstash = normalizeCacheConfig({ log: { formatter: "logstash" } });
    expect(logstash.log.format).toBe("json");
    expect(logstash.notices.map((notice) => notice.path)).toEqual(["log.formatter"]);
    expect(problemsOf(() => normalizeCacheConfig({ log: { formatter: "xml" } }))).toEqual([
      {
        path: "log.formatter",
        value: '"xml"',
        expected: expect.stringMatching(/^json \(the default\), text/),
      },
    ]);
  });

  test("regmirror.caBundles are trusted for the proxy: upstream, which has no CA key of its own", () => {
    const config = normalizeCacheConfig({
      proxy: { remoteurl: "https://registry.corp.example" },
      regmirror: { caBundles: ["/etc/regmirror/corp-ca.pem"] },
    });
    expect(config.upstreams[0]?.caFiles).toEqual(["/etc/regmirror/corp-ca.pem"]);
  });

  test("http.http2.disabled turns HTTP/2 off; it is on by default", () => {
    expect(normalizeCacheConfig({}).http2).toBe(true);
    expect(normalizeCacheConfig({ http: { http2: { disabled: true } } }).http2).toBe(false);
  });
});
