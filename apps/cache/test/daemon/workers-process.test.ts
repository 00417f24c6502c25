// `regmirror.workers: 2` with the production bundle (docs/adr/0036-worker-processes.md): two
// processes on one port in front of a real docker-registry (through the kit's fault proxy,
// which counts what reaches the upstream). Many cold clients on their own connections reach both
// workers; each blob still comes from upstream once, and every body matches its digest.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildTestImage,
  eventually,
  type FaultProxy,
  makeTempDirectory,
  pushTestImage,
  removeTempDirectory,
  startFaultProxy,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type CacheProcess, startCacheWithWorkers } from "./cache-process.js";
import { getOnNewConnection } from "./new-connection.js";
import { buildProductionBundle } from "./production-bundle.js";

let directory: string;
let upstream: UpstreamRegistry;
let proxy: FaultProxy;
let cache: CacheProcess | undefined;
let image: TestImage;

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** Access-log lines of blob GETs answered 200, by the worker that served them. */
function servedBlobs(worker: "first" | "other", cacheOutcome?: string) {
  return (cache?.logLines() ?? []).filter(
    (line) =>
      line.msg === "request" &&
      line.worker === worker &&
      line.route === "blob" &&
      line.status === 200 &&
      (cacheOutcome === undefined || line.cache === cacheOutcome),
  );
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-cache-workers-");
  let bundle: string;
  [bundle, upstream, image] = await Promise.all([
    buildProductionBundle(),
    startUpstreamRegistry(),
    // A small layer (served from memory once read) and two larger ones.
    buildTestImage({ seed: "workers", layers: [2048, 300 * 1024, 1024 * 1024] }),
  ]);
  proxy = await startFaultProxy({ target: upstream.url });
  await pushTestImage(image, upstream, "team/workers");
  const configFile = join(directory, "config.yml");
  writeFileSync(
    configFile,
    [
      "version: 0.1",
      "storage:",
      `  filesystem: { rootdirectory: ${join(directory, "data")} }`,
      // Port 0: the first worker binds a port, the other workers join it (reusePort).
      `http: { addr: "127.0.0.1:0" }`,
      `proxy: { remoteurl: "${proxy.url}" }`,
      "regmirror: { workers: 2 }",
      "",
    ].join("\n"),
  );
  cache = await startCacheWithWorkers(bundle, configFile, directory);
}, 180_000);

afterAll(async () => {
  await cache?.stop();
  await proxy?.stop();
  await upstream?.stop();
  if (directory) removeTempDirectory(directory);
});

test("cold clients spread over two workers: each blob comes from upstream once, every body matches its digest", async () => {
  const blobs = [
    image.manifests[0]?.configDigest ?? "",
    ...(image.manifests[0]?.layerDigests ?? []),
  ];
  const clients = 12;
  const answers = await Promise.all(
    Array.from({ length: clients }, () =>
      Promise.all(
        blobs.map((digest) => getOnNewConnection(`${cache?.url}/v2/team/workers/blobs/${digest}`)),
      ),
    ),
  );
  for (const answer of answers) {
    answer.forEach(({ status, body }, index) => {
      expect(status).toBe(200);
      expect(sha256(body)).toBe(blobs[index]);
    });
  }
  for (const digest of blobs) {
    const upstreamGets = proxy
      .requests()
      .filter((seen) => seen.method === "GET" && seen.path.endsWith(`/blobs/${digest}`));
    expect(upstreamGets).toHaveLength(1);
  }
  // Both processes answered clients (the access log names the worker of each line).
  await eventually(() => {
    expect(servedBlobs("first").length).toBeGreaterThan(0);
    expect(servedBlobs("other").length).toBeGreaterThan(0);
  });
}, 120_000);

test("the other worker serves stored blobs and manifests by digest itself, without upstream", async () => {
  const manifest = image.manifests[0];
  if (manifest === undefined) throw new Error("the test image has no manifest");
  // The manifest by digest into the store first (the first test fetched blobs only).
  expect(
    (await getOnNewConnection(`${cache?.url}/v2/team/workers/manifests/${manifest.digest}`)).status,
  ).toBe(200);
  proxy.resetCounts();
  const before = servedBlobs("other", "hit").length;
  const answers = await Promise.all(
    Array.from({ length: 16 }, () =>
      Promise.all([
        getOnNewConnection(`${cache?.url}/v2/team/workers/blobs/${manifest.layerDigests[0]}`),
        getOnNewConnection(`${cache?.url}/v2/team/workers/manifests/${manifest.digest}`),
      ]),
    ),
  );
  for (const [blob, stored] of answers) {
    expect(blob.status).toBe(200);
    expect(sha256(blob.body)).toBe(manifest.layerDigests[0]);
    expect(stored.status).toBe(200);
    expect(sha256(stored.body)).toBe(manifest.digest);
  }
  expect(proxy.requestCount()).toBe(0);
  await eventually(() => {
    expect(servedBlobs("other", "hit").length).toBeGreaterThan(before);
  });
}, 120_000);

test("an unknown blob through the other worker is answered by the first: 404 BLOB_UNKNOWN", async () => {
  const missing = `sha256:${"0".repeat(64)}`;
  const answers = await Promise.all(
    Array.from({ length: 8 }, () =>
      getOnNewConnection(`${cache?.url}/v2/team/workers/blobs/${missing}`),
    ),
  );
  for (const { status, body } of answers) {
    expect(status).toBe(404);
    expect(body.toString("utf8")).toContain("BLOB_UNKNOWN");
  }
}, 60_000);
