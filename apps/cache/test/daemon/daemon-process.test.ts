// The production bundle run as the container image's entrypoint runs it (`node dist/main.js serve
// /config.yml`) with the MSR docs file, over TLS with a test CA, in front of a real
// docker-registry (through the kit's fault proxy, which counts what reaches the upstream).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildTestImage,
  type CertificateAuthority,
  type Containerd,
  type FaultProxy,
  freePort,
  makeCertificateAuthority,
  makeTempDirectory,
  pushTestImage,
  retryOnAddressInUse,
  skopeoPull,
  startContainerd,
  startFaultProxy,
  startUpstreamRegistry,
  stopAll,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type CacheProcess, runBundle, startCacheProcess } from "./cache-process.js";
import { sendHttp2Request, startPausedHttp2Download } from "./http2-request.js";
import { fingerprintOf, sendRequest, startPausedDownload } from "./https-request.js";
import { buildProductionBundle } from "./production-bundle.js";

const msrDocsFile = readFileSync(
  new URL(
    "../../../../packages/schemas/test/cache-config/fixtures/msr-content-cache.yml",
    import.meta.url,
  ),
  "utf8",
);
const httpSecret = "generate-random-secret";

let directory: string;
let bundle: string;
let upstream: UpstreamRegistry;
let proxy: FaultProxy;
let authority: CertificateAuthority;
let cache: CacheProcess | undefined;
let containerd: Containerd | undefined;
let single: TestImage;
let multi: TestImage;
let large: TestImage;
let outcome: TestImage;
let certificateDirectory: string;
let configFile: string;

/** The secret volume as Kubernetes mounts it: files are links into `..data`, itself a link. */
function writeSecretVersion(version: string, certificatePem: string, keyPem: string) {
  const secretDirectory = join(directory, "certs");
  mkdirSync(join(secretDirectory, version), { recursive: true });
  writeFileSync(join(secretDirectory, version, "cache.cert.pem"), certificatePem);
  writeFileSync(join(secretDirectory, version, "cache.key.pem"), keyPem);
  symlinkSync(version, join(secretDirectory, "..data_tmp"));
  renameSync(join(secretDirectory, "..data_tmp"), join(secretDirectory, "..data"));
}

function pullAccess() {
  return { tlsVerify: true, certificateDirectory };
}

function cacheHost(): string {
  return new URL(cache?.url ?? "").host;
}

async function metricValue(name: string, labels = ""): Promise<number> {
  const answer = await sendRequest(cache?.url ?? "", "/metrics", { ca: authority.certificatePem });
  const text = answer.body.toString("utf8");
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      if (labels === "" || line.includes(labels))
        total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-cache-daemon-");
  [bundle, upstream, authority] = await Promise.all([
    buildProductionBundle(),
    startUpstreamRegistry(),
    makeCertificateAuthority(),
  ]);
  proxy = await startFaultProxy({ target: upstream.url });
  single = await buildTestImage({ seed: "daemon-single", layers: [2048, 4096] });
  multi = await buildTestImage({
    seed: "daemon-multi",
    layers: [1024],
    platforms: [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ],
  });
  large = await buildTestImage({ seed: "daemon-large", layers: [6 * 1024 * 1024] });
  outcome = await buildTestImage({ seed: "daemon-outcome", layers: [256 * 1024] });
  await pushTestImage(single, upstream, "team/single");
  // The same content under a second name: the catalog must list both once both are pulled.
  await pushTestImage(single, upstream, "team/alias");
  await pushTestImage(outcome, upstream, "team/outcome");
  await pushTestImage(multi, upstream, "team/multi");
  await pushTestImage(large, upstream, "team/large");

  const server = await authority.issueServerCertificate(["127.0.0.1", "localhost"]);
  writeSecretVersion("..2026_01", server.certificatePem, server.keyPem);
  certificateDirectory = join(directory, "client-certs");
  mkdirSync(certificateDirectory);
  writeFileSync(join(certificateDirectory, "ca.crt"), authority.certificatePem);
  writeFileSync(join(directory, "msr.cert.pem"), authority.certificatePem);

  symlinkSync("..data/cache.cert.pem", join(directory, "certs", "cache.cert.pem"));
  symlinkSync("..data/cache.key.pem", join(directory, "certs", "cache.key.pem"));
  configFile = join(directory, "config.yml");
  // The file names the cache's own URL, so not port 0: a port picked free, and another one when
  // a process takes it before the cache binds it.
  cache = await retryOnAddressInUse("the cache", async () => {
    const port = await freePort();
    writeFileSync(
      configFile,
      msrDocsFile
        .replace("/var/lib/registry", join(directory, "data"))
        .replace("0.0.0.0:443", `127.0.0.1:${port}`)
        .replace("https://msr-cache.example.com", `https://127.0.0.1:${port}`)
        // distribution's http.headers, applied to every registry response.
        .replace("http:\n", "http:\n  headers:\n    X-Content-Type-Options: [nosniff]\n")
        .replace("/certs/cache.cert.pem", join(directory, "certs", "cache.cert.pem"))
        .replace("/certs/cache.key.pem", join(directory, "certs", "cache.key.pem"))
        .replace("https://msr.example.com:443", proxy.url)
        .replace("/certs/msr.cert.pem", join(directory, "msr.cert.pem")),
    );
    return startCacheProcess(bundle, [configFile], directory);
  });
});

afterAll(() => stopAll(cache, containerd, proxy, upstream, directory));

describe("the MSR docs configuration, over TLS with the test CA", () => {
  test("a misspelled key stops start-up, naming the key", async () => {
    const broken = join(directory, "misspelled.yml");
    writeFileSync(
      broken,
      readFileSync(configFile, "utf8").replace("rootdirectory:", "rootdirectroy:"),
    );
    const result = await runBundle(bundle, ["serve", broken], directory);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("storage.filesystem.rootdirectroy");
    expect(result.stderr).toContain("did you mean rootdirectory");
  });

  test("skopeo pulls a single-platform image with upstream's digest; the second pull asks upstream for no blob", async () => {
    const first = await skopeoPull(`${cacheHost()}/team/single:${single.tag}`, pullAccess());
    expect(first.digest).toBe(single.digest);
    for (const layer of single.manifests[0]?.layerDigests ?? []) {
      const bytes = readFileSync(join(first.directory, layer.slice("sha256:".length)));
      expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(layer);
    }
    proxy.resetCounts();
    const second = await skopeoPull(`${cacheHost()}/team/single:${single.tag}`, pullAccess());
    expect(second.digest).toBe(single.digest);
    expect(proxy.requestCount(/\/blobs\//)).toBe(0);
  });

  test("skopeo pulls every platform of a multi-platform image byte for byte", async () => {
    const pulled = await skopeoPull(`${cacheHost()}/team/multi:${multi.tag}`, pullAccess());
    expect(pulled.digest).toBe(multi.digest);
    expect(pulled.manifestBytes.equals(multi.bytes)).toBe(true);
  });

  test("containerd pulls single- and multi-platform images through hosts.toml (?ns=)", async () => {
    const hostsDir = join(directory, "certs.d");
    mkdirSync(join(hostsDir, proxy.host), { recursive: true });
    writeFileSync(join(directory, "cache-ca.pem"), authority.certificatePem);
    writeFileSync(
      join(hostsDir, proxy.host, "hosts.toml"),
      `server = "${proxy.url}"\n\n[host."${cache?.url}"]\n  capabilities = ["pull", "resolve"]\n  ca = "${join(directory, "cache-ca.pem")}"\n`,
    );
    containerd = await startContainerd({ hostsDir });
    proxy.resetCounts();
    await containerd.pull(`${proxy.host}/team/single:${single.tag}`, { hostsDir, plainHttp: true });
    await containerd.pull(`${proxy.host}/team/multi:${multi.tag}`, {
      hostsDir,
      plainHttp: true,
      platform: "all",
    });
    const images = await containerd.listImages();
    expect(images.find((image) => image.name.endsWith(`team/single:${single.tag}`))?.digest).toBe(
      single.digest,
    );
    expect(images.find((image) => image.name.endsWith(`team/multi:${multi.tag}`))?.digest).toBe(
      multi.digest,
    );
    // containerd asked the cache, not the upstream named in the image reference.
    expect(proxy.requestCount(/\/blobs\//)).toBe(0);
  });

  test("/metrics shows hits, misses and bytes after the pulls; /healthz and /readyz answer", async () => {
    expect(await metricValue("regmirror_cache_misses_total", 'kind="blob"')).toBeGreaterThan(0);
    expect(await metricValue("regmirror_cache_hits_total", 'kind="blob"')).toBeGreaterThan(0);
    expect(await metricValue("regmirror_cache_upstream_bytes_total")).toBeGreaterThan(0);
    expect(await metricValue("regmirror_cache_bytes_served_from_cache_total")).toBeGreaterThan(0);
    expect(
      await metricValue("regmirror_cache_http_requests_total", 'route="blob"'),
    ).toBeGreaterThan(0);
    expect(await metricValue("regmirror_cache_store_bytes")).toBeGreaterThan(0);
    const ca = authority.certificatePem;
    expect((await sendRequest(cache?.url ?? "", "/healthz", { ca })).status).toBe(200);
    expect((await sendRequest(cache?.url ?? "", "/readyz", { ca })).status).toBe(200);
  });

  test("every request has one access-log line with its request id; X-Request-Id is kept", async () => {
    const answer = await sendRequest(cache?.url ?? "", "/v2/", {
      ca: authority.certificatePem,
      headers: { "X-Request-Id": "test-request-42" },
    });
    expect(answer.headers["x-request-id"]).toBe("test-request-42");
    await expect
      .poll(() =>
        cache
          ?.logLines()
          .filter((line) => line.requestId === "test-request-42" && line.msg === "request"),
      )
      .toHaveLength(1);
    const generated = await sendRequest(cache?.url ?? "", "/v2/", { ca: authority.certificatePem });
    expect(generated.headers["x-request-id"]).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    const next = await sendRequest(cache?.url ?? "", "/v2/", { ca: authority.certificatePem });
    expect(next.headers["x-request-id"]).not.toBe(generated.headers["x-request-id"]);
  });
});

function requestLines(): Record<string, unknown>[] {
  return cache?.logLines().filter((line) => line.msg === "request") ?? [];
}

/** The access-log line of the request with this X-Request-Id, once written. */
async function accessLineOf(requestId: string): Promise<Record<string, unknown>> {
  await expect
    .poll(() => requestLines().filter((line) => line.requestId === requestId))
    .toHaveLength(1);
  return requestLines().find((line) => line.requestId === requestId) ?? {};
}

describe("what the cache tells its users", () => {
  const ca = () => authority.certificatePem;
  const layerPath = () => `/v2/team/outcome/blobs/${outcome.manifests[0]?.layerDigests[0]}`;

  test("X-Cache and the access log say miss, then hit; ?ns= is logged as the client sent it", async () => {
    const manifestPath = `/v2/team/outcome/manifests/${outcome.tag}`;
    const first = await sendRequest(cache?.url ?? "", `${manifestPath}?ns=${proxy.host}`, {
      ca: ca(),
      headers: { "X-Request-Id": "outcome-1", Accept: outcome.mediaType },
    });
    expect(first.status).toBe(200);
    expect(first.headers["x-cache"]).toBe("MISS");
    expect(await accessLineOf("outcome-1")).toMatchObject({
      path: manifestPath,
      ns: proxy.host,
      route: "manifest",
      cache: "miss",
      remoteAddress: "127.0.0.1",
    });
    const again = await sendRequest(cache?.url ?? "", `${manifestPath}?ns=${proxy.host}`, {
      ca: ca(),
      headers: { "X-Request-Id": "outcome-2", Accept: outcome.mediaType },
    });
    expect(again.headers["x-cache"]).toBe("HIT");
    expect(await accessLineOf("outcome-2")).toMatchObject({ path: manifestPath, cache: "hit" });
  });

  test("a request that joins a download under way is coalesced; a tag served while upstream fails is stale", async () => {
    proxy.setFault({ path: /\/blobs\//, method: "GET", throttleBytesPerSecond: 128 * 1024 });
    proxy.resetCounts();
    const leader = sendRequest(cache?.url ?? "", layerPath(), {
      ca: ca(),
      headers: { "X-Request-Id": "leader" },
    });
    await expect.poll(() => proxy.requestCount(/\/blobs\//)).toBe(1);
    const follower = await sendRequest(cache?.url ?? "", layerPath(), {
      ca: ca(),
      headers: { "X-Request-Id": "follower" },
    });
    expect((await leader).headers["x-cache"]).toBe("MISS");
    expect(follower.headers["x-cache"]).toBe("COALESCED");
    expect((await accessLineOf("follower")).cache).toBe("coalesced");
    expect(proxy.requestCount(/\/blobs\//)).toBe(1);

    proxy.setFault({ path: /\/manifests\//, status: 503 });
    const stale = await sendRequest(cache?.url ?? "", `/v2/team/outcome/manifests/${outcome.tag}`, {
      ca: ca(),
      headers: { "X-Request-Id": "stale", Accept: outcome.mediaType },
    });
    proxy.setFault(undefined);
    expect(stale.status).toBe(200);
    expect(stale.headers["x-cache"]).toBe("STALE");
    expect((await accessLineOf("stale")).cache).toBe("stale");
  });

  test("HTTP/2 on the TLS listener: a blob with its digest, X-Cache and http.headers, logged as 2.0", async () => {
    const answer = await sendHttp2Request(cache?.url ?? "", layerPath(), { ca: ca() });
    expect(answer.alpnProtocol).toBe("h2");
    expect(answer.status).toBe(200);
    expect(`sha256:${createHash("sha256").update(answer.body).digest("hex")}`).toBe(
      outcome.manifests[0]?.layerDigests[0],
    );
    expect(answer.headers["x-cache"]).toBe("HIT");
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    const requestId = String(answer.headers["x-request-id"]);
    expect(await accessLineOf(requestId)).toMatchObject({
      httpVersion: "2.0",
      remoteAddress: "127.0.0.1",
      bytes: answer.body.byteLength,
      cache: "hit",
    });
  });

  test("HTTP/2: a manifest sent in one piece is counted once, in the access log and in the bytes metric", async () => {
    const bytesMetric = "regmirror_cache_http_response_bytes_total";
    const before = await metricValue(bytesMetric, 'route="manifest"');
    const answer = await sendHttp2Request(
      cache?.url ?? "",
      `/v2/team/outcome/manifests/${outcome.digest}`,
      { ca: ca(), headers: { accept: outcome.mediaType, "x-request-id": "h2-manifest" } },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.equals(outcome.bytes)).toBe(true);
    expect(await accessLineOf("h2-manifest")).toMatchObject({
      httpVersion: "2.0",
      route: "manifest",
      bytes: outcome.bytes.byteLength,
    });
    // Counted when the stream closes, which may come after the client has read the body.
    await expect
      .poll(() => metricValue(bytesMetric, 'route="manifest"'), { timeout: 20_000 })
      .toBe(before + outcome.bytes.byteLength);
  });

  test("http.headers are on registry responses, not on the health endpoints", async () => {
    const base = await sendRequest(cache?.url ?? "", "/v2/", { ca: ca() });
    expect(base.headers["x-content-type-options"]).toBe("nosniff");
    const health = await sendRequest(cache?.url ?? "", "/healthz", { ca: ca() });
    expect(health.headers["x-content-type-options"]).toBeUndefined();
  });

  test("_catalog lists every repository a client pulled, also one whose content came through another name", async () => {
    const alias = await sendRequest(cache?.url ?? "", `/v2/team/alias/manifests/${single.tag}`, {
      ca: ca(),
      headers: { Accept: single.mediaType },
    });
    expect(alias.headers["x-cache"]).toBe("HIT");
    const catalog = await sendRequest(cache?.url ?? "", "/v2/_catalog", { ca: ca() });
    const { repositories } = JSON.parse(catalog.body.toString("utf8")) as {
      repositories: string[];
    };
    expect(repositories).toEqual(
      expect.arrayContaining(["team/alias", "team/multi", "team/outcome", "team/single"]),
    );
  });

  test("metrics: standard process names, build_info, store_blobs current on the first scrape, HEAD /metrics logged without a body", async () => {
    const scrape = async () =>
      (await sendRequest(cache?.url ?? "", "/metrics", { ca: ca() })).body.toString("utf8");
    const valueIn = (text: string, name: string) =>
      Number(
        /^(\S+)(?:\{[^}]*\})? (\S+)$/m.exec(
          text.split("\n").find((line) => line.startsWith(`${name} `)) ?? "",
        )?.[2],
      );
    const before = await scrape();
    expect(before).toMatch(/^process_cpu_seconds_total \d/m);
    expect(before).toMatch(/^process_resident_memory_bytes \d/m);
    expect(before).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(before).not.toContain("regmirror_cache_process_");
    expect(before).toMatch(
      /^regmirror_cache_build_info\{version="[^"]+",node_version="[^"]+"\} 1$/m,
    );

    // One new blob: the scrape where store_bytes first shows it shows it in store_blobs too.
    const blobsBefore = valueIn(before, "regmirror_cache_store_blobs");
    const bytesBefore = valueIn(before, "regmirror_cache_store_bytes");
    const config = outcome.manifests[0]?.configDigest ?? "";
    expect(
      (await sendRequest(cache?.url ?? "", `/v2/team/outcome/blobs/${config}`, { ca: ca() }))
        .status,
    ).toBe(200);
    let after = "";
    await expect
      .poll(async () => {
        after = await scrape();
        return valueIn(after, "regmirror_cache_store_bytes");
      })
      .toBeGreaterThan(bytesBefore);
    expect(valueIn(after, "regmirror_cache_store_blobs")).toBe(blobsBefore + 1);

    const head = await sendRequest(cache?.url ?? "", "/metrics", {
      ca: ca(),
      method: "HEAD",
      headers: { "X-Request-Id": "head-metrics" },
    });
    expect(head.status).toBe(200);
    expect(await accessLineOf("head-metrics")).toMatchObject({ method: "HEAD", bytes: 0 });
  });

  test("every access-log line of the TLS listener has the client's address", () => {
    const lines = requestLines();
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.filter((line) => line.remoteAddress !== "127.0.0.1")).toEqual([]);
  });
});

describe("bad input gets a 4xx, never a 500 or a crash", () => {
  const cases: [string, string, Record<string, string>?][] = [
    ["path traversal", "/v2/team/../../../etc/passwd/manifests/latest"],
    ["encoded path traversal", "/v2/team/..%2f..%2fetc/manifests/latest"],
    ["an invalid repository name", "/v2/Team/UPPER/manifests/latest"],
    ["an invalid tag", "/v2/team/single/manifests/-bad-tag"],
    ["an invalid digest", "/v2/team/single/blobs/sha256:xyz"],
    ["an unknown algorithm", "/v2/team/single/manifests/md5:d41d8cd98f00b204e9800998ecf8427e"],
    ["an unknown ns", "/v2/team/single/manifests/latest?ns=evil.example.com"],
    ["a malformed ns", "/v2/team/single/manifests/latest?ns=not%20a%20host"],
    ["a registry that is not configured", "/v2/evil.example.com/team/app/manifests/latest"],
  ];
  for (const [name, path] of cases) {
    test(name, async () => {
      const answer = await sendRequest(cache?.url ?? "", path, { ca: authority.certificatePem });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      const body = JSON.parse(answer.body.toString("utf8")) as { errors: { code: string }[] };
      expect(body.errors[0]?.code).toMatch(/^[A-Z_]+$/);
    });
  }

  test("a malformed Range on a cached blob", async () => {
    const layer = single.manifests[0]?.layerDigests[0] ?? "";
    for (const range of ["bytes=abc", "bytes=5-2", "bytes=999999999-", "items=0-1"]) {
      const answer = await sendRequest(cache?.url ?? "", `/v2/team/single/blobs/${layer}`, {
        ca: authority.certificatePem,
        headers: { Range: range },
      });
      // A Range the server ignores (RFC 9110 allows it) gives the whole blob: never a 5xx.
      expect([200, 206, 400, 416]).toContain(answer.status);
      if (answer.status >= 400)
        expect(JSON.parse(answer.body.toString("utf8")).errors).toBeDefined();
    }
  });

  test("huge headers get 431", async () => {
    const answer = await sendRequest(cache?.url ?? "", "/v2/", {
      ca: authority.certificatePem,
      headers: { "X-Padding": "a".repeat(64 * 1024) },
    });
    expect(answer.status).toBe(431);
  });

  test("the cache is still up", async () => {
    expect(
      (await sendRequest(cache?.url ?? "", "/healthz", { ca: authority.certificatePem })).status,
    ).toBe(200);
    expect(cache?.logLines().some((line) => line.status === 500)).toBe(false);
  });
});

describe("certificate rotation and shutdown", () => {
  test("a rotated certificate is served to new connections without a restart; an open download continues", async () => {
    const layer = large.manifests[0]?.layerDigests[0] ?? "";
    const path = `/v2/team/large/blobs/${layer}`;
    // Cache it first, then hold a download of it open across the rotation.
    const cached = await sendRequest(cache?.url ?? "", path, { ca: authority.certificatePem });
    expect(cached.status).toBe(200);
    const download = await startPausedDownload(cache?.url ?? "", path, authority.certificatePem);
    expect(download.status).toBe(200);

    const rotated = await authority.issueServerCertificate(["127.0.0.1", "localhost"]);
    writeSecretVersion("..2026_02", rotated.certificatePem, rotated.keyPem);
    await expect
      .poll(
        async () =>
          (await sendRequest(cache?.url ?? "", "/healthz", { ca: authority.certificatePem }))
            .certificateFingerprint,
        {
          timeout: 20_000,
          interval: 200,
        },
      )
      .toBe(fingerprintOf(rotated.certificatePem));
    expect(await download.resume()).toBe(layer);
  });

  test("SIGTERM: new connections are refused, in-flight downloads (HTTP/1.1 and HTTP/2) finish, the process exits 0", async () => {
    const layer = large.manifests[0]?.layerDigests[0] ?? "";
    const download = await startPausedDownload(
      cache?.url ?? "",
      `/v2/team/large/blobs/${layer}`,
      authority.certificatePem,
    );
    const http2Download = await startPausedHttp2Download(
      cache?.url ?? "",
      `/v2/team/large/blobs/${layer}`,
      authority.certificatePem,
    );
    expect(http2Download.status).toBe(200);
    cache?.signal("SIGTERM");
    await expect
      .poll(() => cache?.logLines().some((line) => line.msg === "draining: no new connections"))
      .toBe(true);
    await expect(
      sendRequest(cache?.url ?? "", "/readyz", { ca: authority.certificatePem }),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(await download.resume()).toBe(layer);
    expect(await http2Download.resume()).toBe(layer);
    expect(await cache?.exited).toBe(0);
    expect(cache?.logLines().at(-1)?.msg).toBe("stopped");
  });

  test("no secret reached the logs", () => {
    const output = `${cache?.stdout()}${cache?.stderr()}`;
    expect(output).not.toContain(httpSecret);
    expect(output).not.toMatch(/authorization":\s*"(Basic|Bearer) /i);
  });
});
