import { readFileSync } from "node:fs";
import { type AddressInfo, createServer, type Server } from "node:net";
import { join } from "node:path";
import { createManualClock } from "@regmirror/core/testing";
import {
  buildTestImage,
  type FaultProxy,
  pushTestImage,
  skopeoPull,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blobGets,
  type CacheUnderTest,
  fetchAll,
  manifestAccept,
  type ProxiedCache,
  plainUpstream,
  sha256,
  startCache,
  startProxiedCache,
  waitFor,
} from "./pull-through-harness.js";

const plainHttp = { tlsVerify: false };

function errorCode(body: Buffer): string | undefined {
  return (JSON.parse(body.toString("utf8")) as { errors: { code: string }[] }).errors[0]?.code;
}

function errorMessage(body: Buffer): string {
  return (
    (JSON.parse(body.toString("utf8")) as { errors: { message: string }[] }).errors[0]?.message ??
    ""
  );
}

describe("pull-through serving (docker-registry upstream behind a counting proxy)", () => {
  let proxied: ProxiedCache;
  let upstream: UpstreamRegistry;
  let proxy: FaultProxy;
  let cache: CacheUnderTest;
  let single: TestImage;
  let multi: TestImage;
  let untouched: TestImage;
  let deadEndpointServer: Server;

  beforeAll(async () => {
    // "failover.test" is the same registry behind a dead endpoint first: requests move on to the
    // next. The dead endpoint holds its port (a merely free port could be taken by another test's
    // server meanwhile) and cuts every connection, as a crashed backend would.
    deadEndpointServer = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => deadEndpointServer.listen(0, "127.0.0.1", resolve));
    const deadEndpoint = `http://127.0.0.1:${(deadEndpointServer.address() as AddressInfo).port}`;
    proxied = await startProxiedCache({
      hosts: ["registry.test"],
      moreUpstreams: (faultProxy) => [
        plainUpstream("failover", ["failover.test"], [deadEndpoint, faultProxy.url]),
      ],
      upstreamClient: { retry: { retries: 0 } },
    });
    ({ upstream, proxy, cache } = proxied);
    single = await buildTestImage({ seed: "serving-single", layers: [1500, 200_000] });
    multi = await buildTestImage({
      seed: "serving-multi",
      format: "docker",
      layers: [800],
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64", variant: "v8" },
      ],
    });
    untouched = await buildTestImage({ seed: "serving-untouched", layers: [120_000] });
    await pushTestImage(single, upstream, "team/app", { tag: "v1" });
    await pushTestImage(multi, upstream, "team/multi", { tag: "v1" });
    await pushTestImage(untouched, upstream, "team/untouched", { tag: "v1" });
  });

  afterAll(async () => {
    await proxied?.stop();
    await new Promise((resolve) => deadEndpointServer?.close(resolve));
  });

  it("skopeo pulls a single-platform image with upstream's digests; a second pull asks upstream for no blob", async () => {
    const pulled = await skopeoPull(`${cache.host}/team/app:v1`, plainHttp);
    expect(pulled.digest).toBe(single.digest);
    const manifest = single.manifests[0];
    if (manifest === undefined) throw new Error("the test image has no manifest");
    for (const digest of [manifest.configDigest, ...manifest.layerDigests]) {
      const bytes = readFileSync(join(pulled.directory, digest.slice("sha256:".length)));
      expect(sha256(bytes)).toBe(digest);
    }

    proxy.resetCounts();
    const again = await skopeoPull(`${cache.host}/team/app:v1`, plainHttp);
    expect(again.digest).toBe(single.digest);
    expect(proxy.requestCount(/\/blobs\//)).toBe(0);
    expect(cache.metrics.total("cacheHit:blob")).toBeGreaterThan(0);
  });

  it("skopeo pulls a multi-platform manifest list by the /v2/<registry>/ path prefix, byte for byte", async () => {
    const pulled = await skopeoPull(`${cache.host}/registry.test/team/multi:v1`, plainHttp);
    expect(pulled.digest).toBe(multi.digest);
    expect(pulled.manifestBytes.equals(multi.bytes)).toBe(true);
    for (const manifest of multi.manifests) {
      const bytes = readFileSync(
        join(pulled.directory, `${manifest.digest.slice("sha256:".length)}.manifest.json`),
      );
      expect(sha256(bytes)).toBe(manifest.digest);
    }
  });

  it("routes by ?ns= and by a host:port path prefix", async () => {
    const headers = { accept: manifestAccept };
    const byNamespace = await fetchAll(`${cache.url}/v2/team/app/manifests/v1?ns=registry.test`, {
      headers,
    });
    expect(byNamespace.status).toBe(200);
    expect(byNamespace.headers.get("docker-content-digest")).toBe(single.digest);
    expect(byNamespace.body.equals(single.bytes)).toBe(true);

    const byPortNamespace = await fetchAll(
      `${cache.url}/v2/team/multi/manifests/v1?ns=${upstream.host}`,
      { headers },
    );
    expect(byPortNamespace.status).toBe(200);
    expect(byPortNamespace.headers.get("docker-content-digest")).toBe(multi.digest);

    const byPortPrefix = await fetchAll(
      `${cache.url}/v2/${upstream.host}/team/multi/manifests/v1`,
      { headers },
    );
    expect(byPortPrefix.status).toBe(200);
    expect(byPortPrefix.body.equals(multi.bytes)).toBe(true);
  });

  it("refuses registries that are not configured, and malformed ns, with the OCI error JSON and no upstream request", async () => {
    proxy.resetCounts();
    const unknownNamespace = await fetchAll(`${cache.url}/v2/team/app/manifests/v1?ns=ghcr.io`);
    expect(unknownNamespace.status).toBe(403);
    expect(errorCode(unknownNamespace.body)).toBe("DENIED");
    expect(errorMessage(unknownNamespace.body)).toContain("ghcr.io is not configured");

    const unknownPrefix = await fetchAll(`${cache.url}/v2/ghcr.io/team/app/blobs/${single.digest}`);
    expect(unknownPrefix.status).toBe(403);
    expect(errorCode(unknownPrefix.body)).toBe("DENIED");

    const unknownPortPrefix = await fetchAll(
      `${cache.url}/v2/evil.example:8443/team/app/manifests/v1`,
    );
    expect(unknownPortPrefix.status).toBe(403);
    expect(errorMessage(unknownPortPrefix.body)).toContain("evil.example:8443");

    const malformed = await fetchAll(
      `${cache.url}/v2/team/app/manifests/v1?ns=${encodeURIComponent("bad host/../x")}`,
    );
    expect(malformed.status).toBe(400);
    expect(errorCode(malformed.body)).toBe("NAME_INVALID");

    const twice = await fetchAll(
      `${cache.url}/v2/team/app/manifests/v1?ns=registry.test&ns=ghcr.io`,
    );
    expect(twice.status).toBe(400);

    expect(proxy.requestCount()).toBe(0);
  });

  it("answers HEAD of an uncached blob with upstream's HEAD, never downloading it", async () => {
    const layer = untouched.manifests[0]?.layerDigests[0] ?? "";
    const size = untouched.blobs.get(layer)?.byteLength;
    proxy.resetCounts();
    const head = await fetch(`${cache.url}/v2/team/untouched/blobs/${layer}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(size);
    expect(head.headers.get("docker-content-digest")).toBe(layer);
    expect(
      proxy
        .requests()
        .filter((request) => request.path.includes(layer))
        .map(({ method, path }) => ({ method, path })),
    ).toEqual([{ method: "HEAD", path: `/v2/team/untouched/blobs/${layer}` }]);
    expect(await cache.blobStore.stat(layer)).toBeUndefined();
  });

  it("serves a Range of an uncached blob from the download, then of the stored blob without asking upstream", async () => {
    const layer = untouched.manifests[0]?.layerDigests[0] ?? "";
    const bytes = untouched.blobs.get(layer) ?? Buffer.alloc(0);
    proxy.resetCounts();
    const cold = await fetchAll(`${cache.url}/v2/team/untouched/blobs/${layer}`, {
      headers: { range: "bytes=1000-1999" },
    });
    expect(cold.status).toBe(206);
    expect(cold.headers.get("content-range")).toBe(`bytes 1000-1999/${bytes.byteLength}`);
    expect(cold.body.equals(bytes.subarray(1000, 2000))).toBe(true);
    await waitFor(
      "the blob to be stored",
      async () => (await cache.blobStore.stat(layer)) !== undefined,
    );

    const warm = await fetchAll(`${cache.url}/v2/team/untouched/blobs/${layer}`, {
      headers: { range: `bytes=-100` },
    });
    expect(warm.status).toBe(206);
    expect(warm.body.equals(bytes.subarray(bytes.byteLength - 100))).toBe(true);
    expect(blobGets(proxy.requests(), layer)).toBe(1);
  });

  it("proxies the tags list and lists the cached repositories in the catalog", async () => {
    const tags = await fetchAll(`${cache.url}/v2/team/app/tags/list`);
    expect(tags.status).toBe(200);
    expect(JSON.parse(tags.body.toString("utf8"))).toEqual({ name: "team/app", tags: ["v1"] });

    const catalog = await fetchAll(`${cache.url}/v2/_catalog`);
    expect(catalog.status).toBe(200);
    const { repositories } = JSON.parse(catalog.body.toString("utf8")) as {
      repositories: string[];
    };
    expect(repositories).toEqual(expect.arrayContaining(["team/app", "team/multi"]));
  });

  it("answers what upstream does not have with 404 and the spec's codes", async () => {
    const missingTag = await fetchAll(`${cache.url}/v2/team/app/manifests/nope`);
    expect(missingTag.status).toBe(404);
    expect(errorCode(missingTag.body)).toBe("MANIFEST_UNKNOWN");
    const missingBlob = await fetchAll(`${cache.url}/v2/team/app/blobs/sha256:${"0".repeat(64)}`);
    expect(missingBlob.status).toBe(404);
    expect(errorCode(missingBlob.body)).toBe("BLOB_UNKNOWN");
    const missingRepository = await fetchAll(`${cache.url}/v2/team/none/tags/list`);
    expect(missingRepository.status).toBe(404);
    expect(errorCode(missingRepository.body)).toBe("NAME_UNKNOWN");
  });

  it("answers pushes and deletes UNSUPPORTED", async () => {
    const push = await fetchAll(`${cache.url}/v2/team/app/manifests/v2`, {
      method: "PUT",
      headers: { "content-type": single.mediaType },
      body: single.bytes,
    });
    expect(push.status).toBe(405);
    expect(errorCode(push.body)).toBe("UNSUPPORTED");
    const upload = await fetchAll(`${cache.url}/v2/team/app/blobs/uploads/`, { method: "POST" });
    expect(upload.status).toBe(405);
    const remove = await fetchAll(`${cache.url}/v2/team/app/manifests/${single.digest}`, {
      method: "DELETE",
    });
    expect(remove.status).toBe(405);
  });

  it("serves a manifest by digest from the store without asking upstream", async () => {
    proxy.resetCounts();
    const byDigest = await fetchAll(`${cache.url}/v2/team/app/manifests/${single.digest}`, {
      headers: { accept: manifestAccept },
    });
    expect(byDigest.status).toBe(200);
    expect(byDigest.body.equals(single.bytes)).toBe(true);
    expect(byDigest.headers.get("content-type")).toBe(single.mediaType);
    expect(proxy.requestCount()).toBe(0);
  });

  it("fetches a manifest the store evicted again, never serving it from memory alone", async () => {
    const url = `${cache.url}/v2/team/app/manifests/${single.digest}`;
    expect((await fetchAll(url, { headers: { accept: manifestAccept } })).status).toBe(200);
    expect(await cache.blobStore.delete(single.digest)).toBe(true); // as a TTL or size-cap sweep does
    proxy.resetCounts();
    const again = await fetchAll(url, { headers: { accept: manifestAccept } });
    expect(again.status).toBe(200);
    expect(again.body.equals(single.bytes)).toBe(true);
    const manifestGets = proxy
      .requests()
      .filter((request) => request.method === "GET" && request.path.includes("/manifests/"));
    expect(manifestGets).toHaveLength(1);
    await waitFor("the manifest stored again", async () => {
      return (await cache.blobStore.stat(single.digest)) !== undefined;
    });
  });

  it("follows a tag that moved upstream", async () => {
    const moved = await buildTestImage({ seed: "serving-moved", layers: [700] });
    await pushTestImage(single, upstream, "team/moving", { tag: "stable" });
    const before = await fetchAll(`${cache.url}/v2/team/moving/manifests/stable`, {
      headers: { accept: manifestAccept },
    });
    expect(before.headers.get("docker-content-digest")).toBe(single.digest);
    await pushTestImage(moved, upstream, "team/moving", { tag: "stable" });
    const after = await fetchAll(`${cache.url}/v2/team/moving/manifests/stable`, {
      headers: { accept: manifestAccept },
    });
    expect(after.headers.get("docker-content-digest")).toBe(moved.digest);
  });

  it("serves a tag's last known digest when upstream answers 503 or 429, but not when it answers 404", async () => {
    const headers = { accept: manifestAccept };
    proxy.setFault({ path: /\/manifests\//, status: 503 });
    const unavailable = await fetchAll(`${cache.url}/v2/team/app/manifests/v1`, { headers });
    expect(unavailable.status).toBe(200);
    expect(unavailable.headers.get("docker-content-digest")).toBe(single.digest);

    proxy.setFault({ path: /\/manifests\//, status: 404 });
    const gone = await fetchAll(`${cache.url}/v2/team/app/manifests/v1`, { headers });
    expect(gone.status).toBe(404);
    expect(errorCode(gone.body)).toBe("MANIFEST_UNKNOWN");

    // A 429 starts the upstream's one back-off (docs/adr/0030-upstream-rate-limits.md): the
    // known tag is served stale, content the cache lacks gets the 429 with the time left.
    proxy.setFault({ path: /\/manifests\//, status: 429, headers: { "retry-after": "1" } });
    const limitedTag = await fetchAll(`${cache.url}/v2/team/app/manifests/v1`, { headers });
    expect(limitedTag.status).toBe(200);
    expect(limitedTag.headers.get("docker-content-digest")).toBe(single.digest);
    expect(cache.metrics.total("servedStale:tag")).toBe(2);
    const limited = await fetchAll(`${cache.url}/v2/team/never-pulled/manifests/v1`, { headers });
    proxy.setFault(undefined);
    expect(limited.status).toBe(429);
    expect(errorCode(limited.body)).toBe("TOOMANYREQUESTS");
    // The tests after this one ask the same upstream: wait for its back-off to end.
    await waitFor("the upstream's back-off to end", () =>
      cache.storage.upstreamRateLimits().every((status) => status.backOffUntil === undefined),
    );
  });

  it("fails over to the next endpoint of a registry when one is down", async () => {
    const pulled = await skopeoPull(`${cache.host}/failover.test/team/multi:v1`, plainHttp);
    expect(pulled.digest).toBe(multi.digest);
    expect(cache.metrics.total("upstreamError:network")).toBeGreaterThan(0);
  });

  it("trusts a resolved tag for the freshness window, then asks upstream again", async () => {
    const clock = createManualClock(1_000_000);
    const fresh = await startCache({
      upstreams: [plainUpstream("test-upstream", [upstream.host], [proxy.url])],
      defaultUpstream: "test-upstream",
      tagFreshnessMs: 60_000,
      clock,
    });
    try {
      const headers = { accept: manifestAccept };
      const tagRequests = () => proxy.requestCount(/\/team\/app\/manifests\/v1$/);
      proxy.resetCounts();
      expect((await fetchAll(`${fresh.url}/v2/team/app/manifests/v1`, { headers })).status).toBe(
        200,
      );
      expect(tagRequests()).toBe(1);
      clock.advance(59_000);
      expect((await fetchAll(`${fresh.url}/v2/team/app/manifests/v1`, { headers })).status).toBe(
        200,
      );
      expect(tagRequests()).toBe(1);
      clock.advance(2_000);
      expect((await fetchAll(`${fresh.url}/v2/team/app/manifests/v1`, { headers })).status).toBe(
        200,
      );
      expect(tagRequests()).toBe(2);
    } finally {
      await fresh.stop();
    }
  });
});
