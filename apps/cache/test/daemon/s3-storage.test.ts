// The daemon on S3 storage (a real S3 server, versitygw) with a size cap: pulls work, the
// periodic sweep evicts least recently used content and /metrics counts it, and the S3
// secret key never reaches the logs.
import {
  buildTestImage,
  pushTestImage,
  type S3Server,
  skopeoPull,
  startS3Server,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { sendRequest } from "./https-request.js";
import { type InProcessCache, startInProcessCache } from "./in-process-cache.js";

let upstream: UpstreamRegistry;
let s3: S3Server;
let image: TestImage;
let cache: InProcessCache | undefined;

beforeAll(async () => {
  [upstream, s3] = await Promise.all([startUpstreamRegistry(), startS3Server()]);
  await s3.createBucket("regmirror-cache");
  image = await buildTestImage({ seed: "daemon-s3", layers: [40_000, 40_000] });
  await pushTestImage(image, upstream, "team/s3");
  cache = await startInProcessCache(
    `
http:
  addr: 127.0.0.1:0
proxy:
  remoteurl: ${upstream.url}
regmirror:
  storage:
    s3:
      bucket: regmirror-cache
      region: ${s3.region}
      endpoint: ${s3.endpoint}
      forcePathStyle: true
      prefix: cache
      credentials:
        mode: static
        accessKeyId: ${s3.accessKeyId}
        secretAccessKey: ${s3.secretAccessKey}
    maxSize: 50KB
    lowWater: 50%
`,
    { sweepIntervalMs: 200 },
  );
});

afterAll(async () => {
  await cache?.close();
  await s3?.stop();
  await upstream?.stop();
});

async function metric(name: string): Promise<number> {
  const text = (await sendRequest(cache?.url ?? "", "/metrics")).body.toString("utf8");
  const line = text.split("\n").find((candidate) => candidate.startsWith(name));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

test("pulls through an S3 store; the size cap evicts and /metrics counts it", async () => {
  const pulled = await skopeoPull(`${new URL(cache?.url ?? "").host}/team/s3:${image.tag}`, {
    tlsVerify: false,
  });
  expect(pulled.digest).toBe(image.digest);
  await expect
    .poll(() => metric('regmirror_cache_evictions_total{reason="size-cap"}'), { timeout: 15_000 })
    .toBeGreaterThan(0);
  // A sweep during the pull may leave later blobs above the cap: the next sweeps bring it down.
  await expect
    .poll(() => metric("regmirror_cache_store_bytes"), { timeout: 15_000 })
    .toBeLessThanOrEqual(50_000);
  // Evicted content is fetched again on the next pull.
  const again = await skopeoPull(`${new URL(cache?.url ?? "").host}/team/s3:${image.tag}`, {
    tlsVerify: false,
  });
  expect(again.digest).toBe(image.digest);
});

test("the S3 secret key is not in the logs", () => {
  const logText = cache?.logText() ?? "";
  expect(logText).toContain('"msg":"listening"');
  expect(logText).not.toContain(s3.secretAccessKey);
});
