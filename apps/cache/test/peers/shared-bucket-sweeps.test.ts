// Two replicas on one S3 bucket (a real versitygw) with a size cap and sweeps every 200 ms: only
// the rendezvous owner of the sweep key evicts (ADR 0038), counting what both stored; the other
// skips and says so; pulls through both while blobs are evicted still verify.
import {
  buildTestImage,
  freePort,
  pushTestImage,
  type S3Server,
  skopeoPull,
  startS3Server,
  startUpstreamRegistry,
  stopAll,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ownerOf } from "../../src/peers/rendezvous.js";
import { sweepKey } from "../../src/peers/sweep-turn.js";
import { sendRequest } from "../daemon/https-request.js";
import { type InProcessCache, startInProcessCache } from "../daemon/in-process-cache.js";
import { peerSecret } from "./peer-cluster.js";

let upstream: UpstreamRegistry;
let s3: S3Server;
let image: TestImage;
let replicas: { url: string; cache: InProcessCache }[] = [];

const capBytes = 100_000;

beforeAll(async () => {
  [upstream, s3] = await Promise.all([startUpstreamRegistry(), startS3Server()]);
  await s3.createBucket("shared-sweeps");
  // 4 × 60 kB of layers: more than the cap, so sweeps evict while clients pull.
  image = await buildTestImage({ seed: "shared-sweeps", layers: [60_000, 60_000, 60_000, 60_000] });
  await pushTestImage(image, upstream, "team/app", { tag: "v1" });
  const ports = [await freePort(), await freePort()];
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  replicas = await Promise.all(
    ports.map(async (port, index) => ({
      url: urls[index] ?? "",
      cache: await startInProcessCache(
        `
http:
  addr: 127.0.0.1:${port}
log:
  accesslog: { disabled: true }
proxy:
  remoteurl: ${upstream.url}
regmirror:
  storage:
    s3:
      bucket: shared-sweeps
      region: ${s3.region}
      endpoint: ${s3.endpoint}
      forcePathStyle: true
      credentials: { mode: static, accessKeyId: ${s3.accessKeyId}, secretAccessKey: ${s3.secretAccessKey} }
    maxSize: ${capBytes}B
    lowWater: 50%
  peers:
    self: ${urls[index]}
    secret: ${peerSecret}
    members: { static: [${urls.join(", ")}] }
`,
        { sweepIntervalMs: 200 },
      ),
    })),
  );
});

afterAll(() => stopAll(...replicas.map(({ cache }) => cache), s3, upstream));

async function metric(cache: InProcessCache, name: string): Promise<number> {
  const text = (await sendRequest(cache.url, "/metrics")).body.toString("utf8");
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

test("one replica sweeps the shared bucket and holds the cap; pulls through both verify meanwhile", async () => {
  const owner = ownerOf(
    sweepKey,
    replicas.map(({ url }) => url),
  );
  const sweeper = replicas.find(({ url }) => url === owner)?.cache as InProcessCache;
  const other = replicas.find(({ url }) => url !== owner)?.cache as InProcessCache;

  // Pulls through both replicas at once, twice: blobs are evicted between and during them.
  for (let round = 0; round < 2; round += 1) {
    const pulls = await Promise.all(
      [sweeper, other].map((cache) =>
        skopeoPull(`${new URL(cache.url).host}/team/app:v1`, { tlsVerify: false }),
      ),
    );
    for (const pulled of pulls) expect(pulled.digest).toBe(image.digest);
  }

  // The sweeper's view is the whole bucket (rescanned before each sweep): it comes under the cap.
  await expect
    .poll(() => metric(sweeper, "regmirror_cache_store_bytes"), { timeout: 30_000 })
    .toBeLessThanOrEqual(capBytes);
  expect(
    await metric(sweeper, 'regmirror_cache_evictions_total{reason="size-cap"}'),
  ).toBeGreaterThan(0);
  expect(
    await metric(sweeper, 'regmirror_cache_store_sweeps_total{outcome="swept"}'),
  ).toBeGreaterThan(0);
  // The other replica never evicts from the shared bucket, and says why.
  expect(await metric(other, "regmirror_cache_evictions_total")).toBe(0);
  await expect
    .poll(() => metric(other, 'regmirror_cache_store_sweeps_total{outcome="skipped"}'))
    .toBeGreaterThan(0);
  expect(other.logText()).toContain(
    "store sweeps skipped: another replica sweeps the shared bucket",
  );
  expect(await metric(sweeper, 'regmirror_cache_store_sweeps_total{outcome="skipped"}')).toBe(0);

  // What was evicted is fetched again: a third pull through the other replica still verifies.
  const again = await skopeoPull(`${new URL(other.url).host}/team/app:v1`, { tlsVerify: false });
  expect(again.digest).toBe(image.digest);
});
