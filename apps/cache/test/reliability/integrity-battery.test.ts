// The reliability battery against the daemon process (the production bundle, as the image runs
// it) with a real docker-registry upstream behind the test kit's fault proxy, which makes the
// registry misbehave on demand: every way a body can arrive wrong, oversized manifests, a kill
// inside the commit window, request smuggling on a raw socket, a cross-origin redirect, and
// repository names at the 255-character limit.
import { createRegistryClient } from "@regmirror/oci-distribution";
import {
  buildTestImage,
  type FaultProxy,
  type FaultRule,
  longComponent,
  makeTempDirectory,
  pushTestImage,
  rawHttpExchange,
  skopeoPull,
  startFaultProxy,
  startUpstreamRegistry,
  stopAll,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProductionBundle } from "../daemon/production-bundle.js";
import {
  type BatteryCache,
  inspectStore,
  receive,
  restartBatteryCache,
  sha256Of,
  startBatteryCache,
  waitUntil,
} from "./battery-harness.js";

let directory: string;
let bundle: string;
let upstream: UpstreamRegistry;
let proxy: FaultProxy;
let cache: BatteryCache;

/** One image per fault, so that every fault meets a blob the cache has never seen. */
const faults: [string, FaultRule][] = [
  ["a corrupted byte", { corruptByteAt: 150_000, throttleBytesPerSecond: 2_000_000 }],
  ["a body cut in the middle", { cutAfterBytes: 100_000 }],
  ["a Content-Length longer than the body", { framing: "content-length-long" }],
  ["a Content-Length shorter than the body", { framing: "content-length-short" }],
  ["a chunked body that ends early", { framing: "chunked-short" }],
];
const images = new Map<string, TestImage>();

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-battery-");
  [bundle, upstream] = await Promise.all([buildProductionBundle(), startUpstreamRegistry()]);
  proxy = await startFaultProxy({ target: upstream.url });
  for (const [name] of faults) {
    const image = await buildTestImage({ seed: `battery ${name}`, layers: [300_000] });
    await pushTestImage(image, upstream, "battery/integrity", { tag: image.tag });
    images.set(name, image);
  }
  cache = await startBatteryCache({ bundle, directory, upstreamUrl: proxy.url });
});

afterAll(() => stopAll(cache?.process, proxy, upstream, directory));

async function expectCleanStore(): Promise<void> {
  // Downloads end (and their spool files go) shortly after their clients are answered.
  await waitUntil("downloads to leave no files behind", async () => {
    return (await inspectStore(cache.storeDirectory)).leftovers.length === 0;
  });
  expect((await inspectStore(cache.storeDirectory)).wrongBlobs).toEqual([]);
}

describe("integrity: an upstream body that arrives wrong never reaches a client as a complete body", () => {
  for (const [name, rule] of faults) {
    it(`${name}: a full GET and a Range GET at once, then a clean pull`, async () => {
      const image = images.get(name) as TestImage;
      const layer = image.manifests[0]?.layerDigests[0] ?? "";
      const bytes = image.blobs.get(layer) as Buffer;
      const path = `/v2/battery/integrity/blobs/${layer}`;
      proxy.setFault({ method: "GET", path: new RegExp(`/blobs/${layer}`), ...rule });
      const [full, ranged] = await Promise.all([
        receive(cache.url, path),
        receive(cache.url, path, { range: "bytes=1000-250000" }),
      ]);
      // Never a complete body with wrong bytes: a client gets the right bytes (a cut the
      // cache healed by resuming with Range), or an error, or a transfer cut before its end.
      if (full.complete && full.status < 300) expect(sha256Of(full.body)).toBe(layer);
      if (ranged.complete && ranged.status < 300) {
        expect(ranged.body.equals(bytes.subarray(1000, 250_001))).toBe(true);
      }
      if (rule.cutAfterBytes === undefined) {
        // Content that can never verify reaches no client complete.
        expect(full.complete && full.status < 300).toBe(false);
        expect(ranged.complete && ranged.status < 300).toBe(false);
      }
      await expectCleanStore();
      if (rule.cutAfterBytes === undefined) {
        expect((await inspectStore(cache.storeDirectory)).blobs).not.toContain(layer);
      }

      proxy.setFault(undefined);
      const later = await receive(cache.url, path);
      expect([later.status, later.complete, sha256Of(later.body)]).toEqual([200, true, layer]);
      await waitUntil("the blob to be stored", async () =>
        (await inspectStore(cache.storeDirectory)).blobs.includes(layer),
      );
      await expectCleanStore();
    });
  }

  it("a manifest whose bytes do not match its digest: 503 for a pull by tag and by digest, nothing stored", async () => {
    const image = await buildTestImage({ seed: "battery manifest mismatch", layers: [1000] });
    await pushTestImage(image, upstream, "battery/manifest", { tag: "v1" });
    proxy.setFault({ method: "GET", path: /\/manifests\//, corruptByteAt: 20 });
    const [byTag, byDigest] = await Promise.all([
      receive(cache.url, "/v2/battery/manifest/manifests/v1"),
      receive(cache.url, `/v2/battery/manifest/manifests/${image.digest}`),
    ]);
    for (const answer of [byTag, byDigest]) {
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body.toString()).errors[0].message).toContain(
        "sent content that failed verification",
      );
    }
    expect((await inspectStore(cache.storeDirectory)).blobs).not.toContain(image.digest);
    proxy.setFault(undefined);
    const pulled = await skopeoPull(`${new URL(cache.url).host}/battery/manifest:v1`, {
      tlsVerify: false,
    });
    expect(pulled.digest).toBe(image.digest);
    await expectCleanStore();
  });
});

describe("an oversized upstream manifest is refused without reading past the limit", () => {
  for (const chunked of [false, true]) {
    it(`100 MiB ${chunked ? "chunked" : "with Content-Length"}: 503 saying it is too large`, async () => {
      const image = await buildTestImage({ seed: `battery oversized ${chunked}`, layers: [500] });
      await pushTestImage(image, upstream, "battery/oversized", { tag: "v1" });
      proxy.resetCounts();
      proxy.setFault({
        method: "GET",
        path: /\/manifests\//,
        oversizedBody: { bytes: 100 * 1024 * 1024, chunked },
      });
      const answer = await receive(cache.url, `/v2/battery/oversized/manifests/${image.digest}`);
      proxy.setFault(undefined);
      expect(answer.status).toBe(503);
      const error = JSON.parse(answer.body.toString()).errors[0];
      expect(error.message).toContain("sent a manifest larger than the cache accepts");
      expect(error.message).not.toContain("failed verification");
      expect(error.detail).toMatchObject({ reason: "too-large" });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sent = proxy
        .requests()
        .filter((request) => request.method === "GET")
        .reduce((sum, request) => sum + request.bodyBytesSent, 0);
      // The 4 MiB limit plus what loopback socket buffers took: far from 100 MiB.
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    });
  }
});

describe("request framing attacks on a raw socket get one 400 and a closed connection", () => {
  const smuggled = "GET /v2/battery/smuggled/manifests/v1 HTTP/1.1\r\nHost: cache\r\n\r\n";
  const attacks: [string, string][] = [
    [
      "Content-Length and Transfer-Encoding together",
      `POST /v2/ HTTP/1.1\r\nHost: cache\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    ],
    [
      "two Content-Lengths",
      `POST /v2/ HTTP/1.1\r\nHost: cache\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
    ],
    [
      "an obs-folded header",
      `GET /v2/ HTTP/1.1\r\nHost: cache\r\nX-Folded: a\r\n b\r\n\r\n${smuggled}`,
    ],
    ["bare LF line ends", `GET /v2/ HTTP/1.1\nHost: cache\nX-A: b\n\n${smuggled}`],
  ];
  for (const [name, bytes] of attacks) {
    it(name, async () => {
      proxy.resetCounts();
      const answer = await rawHttpExchange(cache.url, bytes);
      expect(answer.closed).toBe(true);
      const statusLines = answer.text.match(/HTTP\/1\.[01] \d{3}/g) ?? [];
      expect(statusLines).toEqual(["HTTP/1.1 400"]);
      // The request hidden behind the first one never ran.
      expect(proxy.requestCount(/smuggled/)).toBe(0);
      expect(
        cache.process.logLines().some((line) => String(line.path ?? "").includes("smuggled")),
      ).toBe(false);
    });
  }
});

describe("repository names at the limit: every valid name pulls, none gives 500", () => {
  it("skopeo pulls images whose path components have 201 to 238 characters, dots and all", async () => {
    // A client counts the registry host in the 255 (`127.0.0.1:PORT/` is 16 here).
    const names = [
      longComponent("a", 238),
      longComponent("a.", 238),
      `team/${longComponent("b-c.", 233)}`,
    ];
    const image = await buildTestImage({ seed: "battery long names", layers: [2000] });
    for (const name of names) {
      await pushTestImage(image, upstream, name, { tag: "v1" });
      const pulled = await skopeoPull(`${new URL(cache.url).host}/${name}:v1`, {
        tlsVerify: false,
      });
      expect(pulled.digest).toBe(image.digest);
      expect((await receive(cache.url, `/v2/${name}/tags/list`)).status).toBe(200);
    }
    expect(cache.process.logLines().some((line) => line.status === 500)).toBe(false);
  });

  it("names of 255 characters (the API's limit) work by tag, by digest and in tag lists", async () => {
    const registry = createRegistryClient({ registry: upstream.url });
    const image = await buildTestImage({ seed: "battery 255", layers: [1500] });
    const names = [
      longComponent("a", 255),
      longComponent("x.y-", 255),
      `t/${longComponent("q_r", 253)}`,
    ];
    try {
      for (const name of names) {
        const manifest = image.manifests[0];
        for (const digest of [manifest?.configDigest ?? "", ...(manifest?.layerDigests ?? [])]) {
          await registry.pushBlob(name, image.blobs.get(digest) as Buffer);
        }
        await registry.putManifest(name, "v1", image.bytes);
        const byTag = await receive(cache.url, `/v2/${name}/manifests/v1`, {
          accept: image.mediaType,
        });
        expect([byTag.status, sha256Of(byTag.body)]).toEqual([200, image.digest]);
        const layer = manifest?.layerDigests[0] ?? "";
        const blob = await receive(cache.url, `/v2/${name}/blobs/${layer}`);
        expect([blob.status, sha256Of(blob.body)]).toEqual([200, layer]);
        const tags = await receive(cache.url, `/v2/${name}/tags/list`);
        expect(JSON.parse(tags.body.toString())).toEqual({ name, tags: ["v1"] });
      }
    } finally {
      await registry.close();
    }
    expect(cache.process.logLines().some((line) => line.status === 500)).toBe(false);
  });
});

describe("SIGKILL inside the commit window", () => {
  let image: TestImage;

  beforeAll(async () => {
    // Large enough that verifying and linking it takes a while: the window the kill aims at.
    image = await buildTestImage({ seed: "battery commit window", layers: [16 * 1024 * 1024] });
    await pushTestImage(image, upstream, "battery/crash", { tag: "v1" });
  });

  // The download of 16 MiB and two daemon starts, on a machine others load: more than 60 s.
  const timeoutMs = 180_000;
  it(
    "leaves no partial blob and no spool file; after a restart the re-pull is verified",
    async () => {
      const layer = image.manifests[0]?.layerDigests[0] ?? "";
      const download = receive(cache.url, `/v2/battery/crash/blobs/${layer}`);
      // The daemon logs this once the download is verified, just before the store verifies the
      // spool file and links it into place: the window a crash must not corrupt.
      await waitUntil(
        "the commit of the downloaded blob to start",
        () =>
          cache.process
            .logLines()
            .some((line) => line.msg === "storing a downloaded blob" && line.digest === layer),
        120_000,
      );
      cache.process.signal("SIGKILL");
      await cache.process.exited;
      await download;
      const committed = cache.process
        .logLines()
        .some((line) => line.msg === "blob cached" && line.digest === layer);

      cache = await restartBatteryCache(bundle, cache, directory);
      // Start-up removed the spool file; the blob is either absent or complete and verified.
      const after = await inspectStore(cache.storeDirectory);
      expect(after.leftovers).toEqual([]);
      expect(after.wrongBlobs).toEqual([]);
      if (committed) expect(after.blobs).toContain(layer);
      const again = await receive(cache.url, `/v2/battery/crash/blobs/${layer}`);
      expect([again.status, again.complete, sha256Of(again.body)]).toEqual([200, true, layer]);
    },
    timeoutMs,
  );
});

describe("a cross-origin redirect from the upstream", () => {
  let privateUpstream: UpstreamRegistry;
  let privateProxy: FaultProxy;
  let storageHost: FaultProxy;
  let storageRegistry: UpstreamRegistry;
  let authenticated: BatteryCache;

  afterAll(() =>
    stopAll(
      authenticated?.process,
      privateProxy,
      storageHost,
      privateUpstream,
      storageRegistry,
      redirectDirectory,
    ),
  );

  let image: TestImage;
  const redirectDirectory = makeTempDirectory("regmirror-battery-redirect-");

  beforeAll(async () => {
    // The private registry needs the cache's credentials; its blobs are served from a storage
    // host (another origin, like S3 behind a signed URL) that needs none.
    [privateUpstream, storageRegistry] = await Promise.all([
      startUpstreamRegistry({ auth: "htpasswd" }),
      startUpstreamRegistry(),
    ]);
    image = await buildTestImage({ seed: "battery redirect", layers: [4000] });
    await pushTestImage(image, privateUpstream, "team/private", { tag: "v1" });
    await pushTestImage(image, storageRegistry, "team/private", { tag: "v1" });
    privateProxy = await startFaultProxy({ target: privateUpstream.url });
    storageHost = await startFaultProxy({ target: storageRegistry.url });
    privateProxy.setFault({ method: "GET", path: /\/blobs\//, redirectTo: storageHost.url });
    const user = privateUpstream.users[0] as { username: string; password: string };
    authenticated = await startBatteryCache({
      bundle,
      directory: redirectDirectory,
      upstreamUrl: privateProxy.url,
      credentials: { username: user.username, password: user.password },
    });
  });

  it("is followed without the cache's Authorization header", async () => {
    const layer = image.manifests[0]?.layerDigests[0] ?? "";
    // A pull asks for the manifest first: the cache learns it must log in to this upstream.
    const pulled = await skopeoPull(`${new URL(authenticated.url).host}/team/private:v1`, {
      tlsVerify: false,
    });
    expect(pulled.digest).toBe(image.digest);
    const asked = privateProxy.requests().filter((request) => request.path.includes(layer));
    expect(asked.some((request) => request.headers.authorization !== undefined)).toBe(true);
    const redirected = storageHost.requests().filter((request) => request.path.includes(layer));
    expect(redirected.length).toBeGreaterThan(0);
    expect(redirected.map((request) => request.headers.authorization)).toEqual(
      redirected.map(() => undefined),
    );
  });
});
