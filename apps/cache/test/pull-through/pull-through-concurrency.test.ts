import { buildTestImage, pushTestImage, type TestImage } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blobGets,
  fetchAll,
  type ProxiedCache,
  pullWithFetch,
  sha256,
  startProxiedCache,
  waitFor,
} from "./pull-through-harness.js";

describe("one upstream download per digest, however many clients ask", () => {
  let proxied: ProxiedCache;
  let image: TestImage;
  let another: TestImage;

  beforeAll(async () => {
    proxied = await startProxiedCache();
    image = await buildTestImage({ seed: "concurrency", layers: [300_000, 150_000, 2_000] });
    another = await buildTestImage({ seed: "first-client-leaves", layers: [400_000] });
    await pushTestImage(image, proxied.upstream, "team/hot", { tag: "v1" });
    await pushTestImage(another, proxied.upstream, "team/leaving", { tag: "v1" });
  });

  afterAll(() => proxied?.stop());

  it("20 concurrent cold pulls fetch each blob from upstream exactly once and all get correct bytes", async () => {
    const { proxy, cache } = proxied;
    proxy.resetCounts();
    // Slow blob bodies down so that the clients really meet in the middle of the downloads.
    proxy.setFault({ path: /\/blobs\//, throttleBytesPerSecond: 1_500_000 });
    const pulls = await Promise.all(
      Array.from({ length: 20 }, () => pullWithFetch(cache.url, "team/hot", "v1")),
    );
    proxy.setFault(undefined);

    const manifest = image.manifests[0];
    if (manifest === undefined) throw new Error("the test image has no manifest");
    const expected = [manifest.configDigest, ...manifest.layerDigests];
    for (const pull of pulls) {
      expect(pull.manifestDigest).toBe(image.digest);
      expect(pull.blobs).toEqual(
        expected.map((digest) => ({ digest, status: 200, computed: digest })),
      );
    }
    const requests = proxy.requests();
    for (const digest of expected) expect(blobGets(requests, digest)).toBe(1);
    expect(
      requests.filter((request) => request.path.includes(`/manifests/${image.digest}`)),
    ).toHaveLength(1);
    expect(cache.metrics.total("coalescedWaiter:blob")).toBeGreaterThan(0);
  });

  it("finishes and stores a download when the client that started it goes away", async () => {
    const { proxy, cache } = proxied;
    const layer = another.manifests[0]?.layerDigests[0] ?? "";
    proxy.resetCounts();
    proxy.setFault({ path: /\/blobs\//, throttleBytesPerSecond: 1_000_000 });
    const leaving = new AbortController();
    const response = await fetch(`${cache.url}/v2/team/leaving/blobs/${layer}`, {
      signal: leaving.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    const first = await reader?.read();
    expect(first?.value?.byteLength).toBeGreaterThan(0);
    leaving.abort();

    await waitFor(
      "the abandoned download to be stored",
      async () => (await cache.blobStore.stat(layer)) !== undefined,
    );
    proxy.setFault(undefined);
    const later = await fetchAll(`${cache.url}/v2/team/leaving/blobs/${layer}`);
    expect(sha256(later.body)).toBe(layer);
    expect(blobGets(proxy.requests(), layer)).toBe(1);
  });
});
