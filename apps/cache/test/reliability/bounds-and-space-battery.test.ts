// The reliability battery, part two, against the daemon process: an upstream that accepts TCP
// and never answers (the test kit's fault proxy holding every request: a fake only in that it
// makes the real docker-registry behind it go silent on demand), and a store on a real small
// disk (a tmpfs this test mounts; it needs root and fails, not skips, without it).
import {
  buildTestImage,
  type FaultProxy,
  makeTempDirectory,
  mountSmallDisk,
  pushTestImage,
  removeTempDirectory,
  type SmallDisk,
  startFaultProxy,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProductionBundle } from "../daemon/production-bundle.js";
import {
  type BatteryCache,
  inspectStore,
  metricValue,
  receive,
  sha256Of,
  startBatteryCache,
  waitUntil,
} from "./battery-harness.js";

let bundle: string;
let upstream: UpstreamRegistry;

beforeAll(async () => {
  [bundle, upstream] = await Promise.all([buildProductionBundle(), startUpstreamRegistry()]);
});

afterAll(async () => {
  await upstream?.stop();
});

function layerOf(image: TestImage): { digest: string; bytes: Buffer } {
  const digest = image.manifests[0]?.layerDigests[0] ?? "";
  return { digest, bytes: image.blobs.get(digest) as Buffer };
}

describe("a black-holed upstream: bounded answers and a circuit breaker per endpoint", () => {
  let directory: string;
  let proxy: FaultProxy;
  let cache: BatteryCache;
  const images: Record<"cached" | "uncached" | "later", TestImage | undefined> = {
    cached: undefined,
    uncached: undefined,
    later: undefined,
  };

  beforeAll(async () => {
    directory = makeTempDirectory("regmirror-battery-bounds-");
    proxy = await startFaultProxy({ target: upstream.url });
    for (const name of ["cached", "uncached", "later"] as const) {
      images[name] = await buildTestImage({ seed: `battery bounds ${name}`, layers: [1000] });
      await pushTestImage(images[name] as TestImage, upstream, `bounds/${name}`, { tag: "v1" });
    }
    cache = await startBatteryCache({
      bundle,
      directory,
      upstreamUrl: proxy.url,
      regmirror: [
        "  upstreamTimeouts: { staleAfter: 1s, uncached: 4s }",
        // Long enough that a loaded machine checks the open circuit before a probe is due.
        "  circuitBreaker: { failures: 2, openFor: 15s }",
      ],
    });
  });

  afterAll(async () => {
    await cache?.process.stop();
    await proxy?.stop();
    if (directory) await removeTempDirectory(directory);
  });

  it("answers a tag it knows from the cache within 5 s, and content it lacks with a 503 at the configured bound", async () => {
    const warm = await receive(cache.url, "/v2/bounds/cached/manifests/v1");
    expect([warm.status, sha256Of(warm.body)]).toEqual([200, images.cached?.digest]);
    expect((await receive(cache.url, "/v2/bounds/cached/tags/list")).status).toBe(200);

    proxy.setFault({ delayMs: 10 * 60_000 }); // accepts every request, answers none
    const started = Date.now();
    const [byTag, tagList] = await Promise.all([
      receive(cache.url, "/v2/bounds/cached/manifests/v1"),
      receive(cache.url, "/v2/bounds/cached/tags/list"),
    ]);
    const cachedMs = Date.now() - started;
    expect([byTag.status, sha256Of(byTag.body)]).toEqual([200, images.cached?.digest]);
    expect(JSON.parse(tagList.body.toString())).toEqual({ name: "bounds/cached", tags: ["v1"] });
    // staleAfter is 1 s: the promise is an answer within 5 s whatever upstream does.
    expect(cachedMs).toBeLessThan(5_000);
    expect(
      cache.process
        .logLines()
        .some((line) => line.msg === "upstream slow: serving the tag's last known digest"),
    ).toBe(true);

    const uncachedStarted = Date.now();
    const uncached = await receive(cache.url, "/v2/bounds/uncached/manifests/v1");
    const uncachedMs = Date.now() - uncachedStarted;
    expect(uncached.status).toBe(503);
    const error = JSON.parse(uncached.body.toString()).errors[0];
    expect(error).toMatchObject({ code: "UNAVAILABLE", detail: { reason: "timeout" } });
    expect(error.message).toContain("is unavailable (no answer within 4 s)");
    expect(uncachedMs).toBeGreaterThanOrEqual(3_900);
  });

  it("opens the endpoint's circuit: the up gauge says 0, a log line says so, requests skip it at once", async () => {
    await waitUntil("the circuit to open", () =>
      cache.process
        .logLines()
        .some((line) => String(line.msg).startsWith("upstream endpoint down: circuit opened")),
    );
    expect(
      await metricValue(cache.url, "regmirror_cache_upstream_up", `endpoint="${proxy.url}"`),
    ).toBe(0);

    proxy.resetCounts();
    const skipped = await receive(cache.url, "/v2/bounds/later/manifests/v1");
    expect(skipped.status).toBe(503);
    expect(skipped.headers["retry-after"]).toMatch(/^\d+$/);
    const error = JSON.parse(skipped.body.toString()).errors[0];
    expect(error.detail).toMatchObject({ reason: "circuit-open" });
    expect(error.message).toContain("marked down after repeated failures");
    const stale = await receive(cache.url, "/v2/bounds/cached/manifests/v1");
    expect([stale.status, sha256Of(stale.body)]).toEqual([200, images.cached?.digest]);
    // Neither request reached the upstream.
    expect(proxy.requestCount()).toBe(0);
  });

  it("closes the circuit when a probe gets an answer after openFor", async () => {
    proxy.setFault(undefined);
    let answer = await receive(cache.url, "/v2/bounds/later/manifests/v1");
    await waitUntil("a probe to reach the upstream again", async () => {
      answer = await receive(cache.url, "/v2/bounds/later/manifests/v1");
      return answer.status === 200;
    });
    expect(sha256Of(answer.body)).toBe(images.later?.digest);
    expect(
      cache.process
        .logLines()
        .some((line) => line.msg === "upstream endpoint answers again: circuit closed"),
    ).toBe(true);
    expect(
      await metricValue(cache.url, "regmirror_cache_upstream_up", `endpoint="${proxy.url}"`),
    ).toBe(1);
  });
});

describe("a full disk (a 16 MiB tmpfs under the store)", () => {
  let disk: SmallDisk;
  let directory: string;
  let cache: BatteryCache;
  const mib = 1024 * 1024;
  const images: Record<string, TestImage> = {};

  beforeAll(async () => {
    disk = mountSmallDisk(16 * mib, "regmirror-battery-disk-");
    directory = makeTempDirectory("regmirror-battery-space-");
    for (const [name, size] of [
      ["first", 6 * mib],
      ["second", 6 * mib],
      ["third", 6 * mib],
      ["huge", 20 * mib],
    ] as const) {
      images[name] = await buildTestImage({ seed: `battery space ${name}`, layers: [size] });
      await pushTestImage(images[name] as TestImage, upstream, `space/${name}`, { tag: "v1" });
    }
    cache = await startBatteryCache({
      bundle,
      directory,
      storeDirectory: `${disk.path}/data`,
      upstreamUrl: upstream.url,
    });
  });

  afterAll(async () => {
    await cache?.process.stop();
    await disk?.remove();
    if (directory) await removeTempDirectory(directory);
  });

  async function pull(name: string, headers: Record<string, string> = {}) {
    return receive(
      cache.url,
      `/v2/space/${name}/blobs/${layerOf(images[name] as TestImage).digest}`,
      headers,
    );
  }

  it("makes room for a blob that does not fit by evicting the least recently used one", async () => {
    for (const name of ["first", "second"]) {
      const got = await pull(name);
      expect([got.status, got.complete, sha256Of(got.body)]).toEqual([
        200,
        true,
        layerOf(images[name] as TestImage).digest,
      ]);
      await waitUntil(`${name} to be stored`, async () =>
        (await inspectStore(cache.storeDirectory)).blobs.includes(
          layerOf(images[name] as TestImage).digest,
        ),
      );
    }
    const third = await pull("third");
    expect([third.status, third.complete, sha256Of(third.body)]).toEqual([
      200,
      true,
      layerOf(images.third as TestImage).digest,
    ]);
    await waitUntil("third to be stored", async () =>
      (await inspectStore(cache.storeDirectory)).blobs.includes(
        layerOf(images.third as TestImage).digest,
      ),
    );
    const stored = (await inspectStore(cache.storeDirectory)).blobs;
    expect(stored).not.toContain(layerOf(images.first as TestImage).digest);
    expect(stored).toContain(layerOf(images.second as TestImage).digest);
    expect(
      await metricValue(cache.url, "regmirror_cache_evictions_total", 'reason="disk-space"'),
    ).toBeGreaterThan(0);
  });

  it("streams a blob larger than the whole disk to each client without storing it, logged and counted", async () => {
    const huge = layerOf(images.huge as TestImage);
    const [whole, again, range] = await Promise.all([
      pull("huge"),
      pull("huge"),
      pull("huge", { range: "bytes=100-199" }),
    ]);
    for (const got of [whole, again]) {
      expect([got.status, got.complete, sha256Of(got.body)]).toEqual([200, true, huge.digest]);
    }
    expect([range.status, range.body.equals(huge.bytes.subarray(100, 200))]).toEqual([206, true]);
    const after = await inspectStore(cache.storeDirectory);
    expect(after.blobs).not.toContain(huge.digest);
    // Nothing was evicted for a blob that could never fit.
    expect(after.blobs).toContain(layerOf(images.second as TestImage).digest);
    expect(after.blobs).toContain(layerOf(images.third as TestImage).digest);
    expect(
      await metricValue(cache.url, "regmirror_cache_blobs_not_stored_total", 'reason="no-space"'),
    ).toBeGreaterThanOrEqual(3);
    expect(
      cache.process
        .logLines()
        .some((line) => String(line.msg).startsWith("no room for a blob even after evicting")),
    ).toBe(true);
  });

  it("stays ready and serves what it holds; leaves no files behind", async () => {
    expect((await receive(cache.url, "/readyz")).status).toBe(200);
    const third = await pull("third");
    expect([third.status, sha256Of(third.body)]).toEqual([
      200,
      layerOf(images.third as TestImage).digest,
    ]);
    await waitUntil(
      "downloads to leave no files behind",
      async () => (await inspectStore(cache.storeDirectory)).leftovers.length === 0,
    );
    expect((await inspectStore(cache.storeDirectory)).wrongBlobs).toEqual([]);
    expect(cache.process.logLines().some((line) => line.status === 500)).toBe(false);
  });
});
