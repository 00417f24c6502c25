// Two replicas on one S3 bucket (a real versitygw) with a size cap and sweeps every 200 ms: only
// the rendezvous owner of the sweep key evicts (ADR 0038), counting what both stored; the other
// skips and says so; pulls through both while blobs are evicted still verify. When the owner
// stops but stays in the static member list, the other sweeps in its place.
import * as kit from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ownerOf } from "../../src/peers/rendezvous.js";
import { sweepKey } from "../../src/peers/sweep-turn.js";
import {
  type InProcessCache,
  startInProcessCachesOnFreePorts,
} from "../daemon/in-process-cache.js";
import { metricOf, type S3CacheSetup, startS3CacheSetup } from "../daemon/s3-cache-setup.js";
import { peerSecret } from "./peer-cluster.js";

let setup: S3CacheSetup | undefined;
let replicas: { url: string; cache: InProcessCache }[] = [];

const capBytes = 100_000;

beforeAll(async () => {
  // 4 × 70 kB of layers: more than the cap, so sweeps evict while clients pull. Each above the
  // small-blob memory's limit (64 KiB): a replica must read an evicted layer from the bucket and
  // fetch it again, never answer it from memory (the stand-in test needs the bucket over the cap).
  const started = await startS3CacheSetup({
    seed: "shared-sweeps",
    layers: [70_000, 70_000, 70_000, 70_000],
    bucket: "shared-sweeps",
  });
  setup = started;
  const caches = await startInProcessCachesOnFreePorts(
    2,
    (ports) => {
      const urls = ports.map((port) => `http://127.0.0.1:${port}`);
      return ports.map(
        (port, index) => `
http:
  addr: 127.0.0.1:${port}
log:
  accesslog: { disabled: true }
proxy:
  remoteurl: ${started.upstream.url}
regmirror:
  storage:
${started.s3Yaml}
    maxSize: ${capBytes}B
    lowWater: 50%
  peers:
    self: ${urls[index]}
    secret: ${peerSecret}
    members: { static: [${urls.join(", ")}] }
`,
      );
    },
    { sweepIntervalMs: 200 },
  );
  replicas = caches.map((cache) => ({ url: cache.url, cache }));
});

afterAll(() => kit.stopAll(...replicas.map(({ cache }) => cache), setup));

const metric = (cache: InProcessCache, name: string) => metricOf(cache.url, name);

/** The replica that owns the sweep key, and the other one. */
function roles(): { sweeper: InProcessCache; other: InProcessCache } {
  const owner = ownerOf(
    sweepKey,
    replicas.map(({ url }) => url),
  );
  const sweeper = replicas.find(({ url }) => url === owner)?.cache;
  const other = replicas.find(({ url }) => url !== owner)?.cache;
  if (sweeper === undefined || other === undefined)
    throw new Error("two replicas were not started");
  return { sweeper, other };
}

test("one replica sweeps the shared bucket and holds the cap; pulls through both verify meanwhile", async () => {
  const { sweeper, other } = roles();

  // Pulls through both replicas at once, twice: blobs are evicted between and during them.
  for (let round = 0; round < 2; round += 1) {
    const pulls = await Promise.all(
      [sweeper, other].map((cache) =>
        kit.skopeoPull(`${new URL(cache.url).host}/team/app:v1`, { tlsVerify: false }),
      ),
    );
    for (const pulled of pulls) expect(pulled.digest).toBe(setup?.image.digest);
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
  const again = await kit.skopeoPull(`${new URL(other.url).host}/team/app:v1`, {
    tlsVerify: false,
  });
  expect(again.digest).toBe(setup?.image.digest);
});

test("the sweeping replica down but still listed (static members): the other sweeps in its place after a few sweeps without its mark", async () => {
  const { sweeper, other } = roles();
  await sweeper.close();
  // What the sweeper evicted comes back through the other replica: over the cap again.
  const pulled = await kit.skopeoPull(`${new URL(other.url).host}/team/app:v1`, {
    tlsVerify: false,
  });
  expect(pulled.digest).toBe(setup?.image.digest);

  // It sweeps in the sweeper's place: with a view of the whole bucket, it holds the cap.
  await expect
    .poll(() => metric(other, 'regmirror_cache_store_sweeps_total{outcome="swept"}'))
    .toBeGreaterThan(0);
  await expect
    .poll(() => metric(other, "regmirror_cache_store_bytes"))
    .toBeLessThanOrEqual(capBytes);
  expect(await metric(other, 'regmirror_cache_evictions_total{reason="size-cap"}')).toBeGreaterThan(
    0,
  );
  expect(other.logText()).toContain(
    "the process whose turn it is to sweep the shared storage left no mark: sweeping in its place",
  );
  expect(other.logText()).toContain("store sweeps run here: this replica sweeps the shared bucket");
});
