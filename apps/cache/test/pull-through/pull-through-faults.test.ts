import { readdir } from "node:fs/promises";
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
  type ProxiedCache,
  sha256,
  startCacheBeside,
  startProxiedCache,
  waitFor,
} from "./pull-through-harness.js";

const plainHttp = { tlsVerify: false };

async function spoolIsEmpty(cache: CacheUnderTest): Promise<boolean> {
  return (await readdir(cache.spoolDirectory)).length === 0;
}

// The fault proxy is the test kit's fake: it makes the real upstream cut or corrupt a body on demand.
describe("fault proxy: an upstream that cuts or corrupts a blob", () => {
  let proxied: ProxiedCache;
  let upstream: UpstreamRegistry;
  let proxy: FaultProxy;
  /** Its upstream client does not retry, so a cut cannot be healed by resuming. */
  let cache: CacheUnderTest;
  /** Default retries: a broken download resumes with a Range request. */
  let resumingCache: CacheUnderTest;
  let image: TestImage;
  let layer: string;
  let layerBytes: Buffer;

  beforeAll(async () => {
    proxied = await startProxiedCache({ upstreamClient: { retry: { retries: 0 } } });
    ({ upstream, proxy, cache } = proxied);
    resumingCache = await startCacheBeside(proxied);
    image = await buildTestImage({ seed: "faults", layers: [300_000] });
    await pushTestImage(image, upstream, "team/fragile", { tag: "v1" });
    layer = image.manifests[0]?.layerDigests[0] ?? "";
    layerBytes = image.blobs.get(layer) ?? Buffer.alloc(0);
  });

  afterAll(async () => {
    await resumingCache?.stop();
    await proxied?.stop();
  });

  it("a blob cut mid-stream aborts the client's transfer, stores nothing, and the next pull succeeds", async () => {
    proxy.setFault({ path: /\/blobs\//, cutAfterBytes: 100_000 });
    await expect(fetchAll(`${cache.url}/v2/team/fragile/blobs/${layer}`)).rejects.toThrow();
    await expect(skopeoPull(`${cache.host}/team/fragile:v1`, plainHttp)).rejects.toThrow();
    expect(await cache.blobStore.stat(layer)).toBeUndefined();
    await waitFor("the spool to be removed", () => spoolIsEmpty(cache));

    proxy.setFault(undefined);
    const pulled = await skopeoPull(`${cache.host}/team/fragile:v1`, plainHttp);
    expect(pulled.digest).toBe(image.digest);
    // The commit follows the last byte served (ADR 0009), so the store may lag the client.
    await waitFor(
      "the layer to be stored",
      async () => (await cache.blobStore.stat(layer))?.size === layerBytes.byteLength,
    );
  });

  it("a corrupted byte aborts the client's transfer before its last byte and stores nothing", async () => {
    const corruptLayer = await buildTestImage({ seed: "faults-corrupt", layers: [200_000] });
    await pushTestImage(corruptLayer, upstream, "team/corrupt", { tag: "v1" });
    const digest = corruptLayer.manifests[0]?.layerDigests[0] ?? "";
    const bytes = corruptLayer.blobs.get(digest) ?? Buffer.alloc(0);

    // Throttled, the proxy pauses after the last byte before it ends the body: without the
    // cache holding the last byte back until verification, the client would have it all by then.
    proxy.setFault({
      path: new RegExp(`/blobs/${digest}`),
      corruptByteAt: 5_000,
      throttleBytesPerSecond: 2_000_000,
    });
    const response = await fetch(`${cache.url}/v2/team/corrupt/blobs/${digest}`);
    expect(response.status).toBe(200);
    let received = 0;
    const reading = (async () => {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>)
        received += chunk.byteLength;
    })();
    await expect(reading).rejects.toThrow();
    expect(received).toBeLessThan(bytes.byteLength);
    expect(await cache.blobStore.stat(digest)).toBeUndefined();
    await waitFor("the spool to be removed", () => spoolIsEmpty(cache));

    proxy.setFault(undefined);
    const retried = await fetchAll(`${cache.url}/v2/team/corrupt/blobs/${digest}`);
    expect(retried.status).toBe(200);
    expect(sha256(retried.body)).toBe(digest);
    // Clients get the verified bytes first; the commit to the store follows.
    await waitFor(
      "the blob to be stored",
      async () => (await cache.blobStore.stat(digest)) !== undefined,
    );
    expect(await cache.blobStore.stat(digest)).toEqual({ digest, size: bytes.byteLength });
  });

  it("a single cut is healed by resuming with Range when the upstream client may retry", async () => {
    proxy.resetCounts();
    proxy.setFault({ path: /\/blobs\//, cutAfterBytes: 100_000, times: 1 });
    const served = await fetchAll(`${resumingCache.url}/v2/team/fragile/blobs/${layer}`);
    expect(served.status).toBe(200);
    expect(served.body.equals(layerBytes)).toBe(true);
    expect(blobGets(proxy.requests(), layer)).toBe(2);
    await waitFor(
      "the blob to be stored",
      async () => (await resumingCache.blobStore.stat(layer)) !== undefined,
    );
  });
});

describe("upstream stopped", () => {
  let proxied: ProxiedCache;
  let upstream: UpstreamRegistry;
  let proxy: FaultProxy;
  let cache: CacheUnderTest;
  let cached: TestImage;
  let uncached: TestImage;

  beforeAll(async () => {
    proxied = await startProxiedCache({
      upstreamClient: { retry: { retries: 1, minDelayMs: 10 } },
    });
    ({ upstream, proxy, cache } = proxied);
    cached = await buildTestImage({ seed: "outage-cached", layers: [5_000, 20_000] });
    uncached = await buildTestImage({ seed: "outage-uncached", layers: [5_000] });
    await pushTestImage(cached, upstream, "team/steady", { tag: "v1" });
    await pushTestImage(uncached, upstream, "team/never", { tag: "v1" });
    const warm = await skopeoPull(`${cache.host}/team/steady:v1`, plainHttp);
    expect(warm.digest).toBe(cached.digest);
    const tags = await fetchAll(`${cache.url}/v2/team/steady/tags/list`);
    expect(tags.status).toBe(200);
    await proxy.stop();
    await upstream.stop();
  });

  afterAll(() => proxied?.stop());

  it("still serves cached images by tag (last known digest) and by digest", async () => {
    const byTag = await skopeoPull(`${cache.host}/team/steady:v1`, plainHttp);
    expect(byTag.digest).toBe(cached.digest);
    const byDigest = await skopeoPull(`${cache.host}/team/steady@${cached.digest}`, plainHttp);
    expect(byDigest.digest).toBe(cached.digest);
    expect(cache.metrics.total("servedStale:tag")).toBeGreaterThan(0);
    expect(cache.metrics.total("upstreamError:network")).toBeGreaterThan(0);
  });

  it("serves the last tag list upstream answered", async () => {
    const tags = await fetchAll(`${cache.url}/v2/team/steady/tags/list`);
    expect(tags.status).toBe(200);
    expect(JSON.parse(tags.body.toString("utf8"))).toEqual({ name: "team/steady", tags: ["v1"] });
  });

  it("answers uncached content with a clear UNAVAILABLE error JSON instead of hanging", async () => {
    const manifest = await fetchAll(`${cache.url}/v2/team/never/manifests/v1`);
    expect(manifest.status).toBe(503);
    const body = JSON.parse(manifest.body.toString("utf8")) as {
      errors: { code: string; message: string }[];
    };
    expect(body.errors[0]?.code).toBe("UNAVAILABLE");
    expect(body.errors[0]?.message).toContain("upstream registry test-upstream is unavailable");

    const blob = await fetchAll(
      `${cache.url}/v2/team/never/blobs/${uncached.manifests[0]?.layerDigests[0]}`,
    );
    expect(blob.status).toBe(503);
    const head = await fetch(
      `${cache.url}/v2/team/never/blobs/${uncached.manifests[0]?.layerDigests[0]}`,
      {
        method: "HEAD",
      },
    );
    expect(head.status).toBe(503);
    await expect(skopeoPull(`${cache.host}/team/never:v1`, plainHttp)).rejects.toThrow(
      /503 Service Unavailable/,
    );
  });
});
