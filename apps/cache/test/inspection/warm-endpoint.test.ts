// POST /admin/v1/warm (warm-ahead's endpoint) on a cache in this process, in front of a real
// docker-registry behind the test kit's counting proxy: the image is stored when it answers, a
// later pull asks upstream for no blob, and bad requests are refused with a message naming why.
import { buildTestImage, pushTestImage, skopeoPull, type TestImage } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type FaultProxiedUpstream,
  startFaultProxiedUpstream,
} from "../daemon/fault-proxied-upstream.js";
import { basicAuthorization, sendRequest } from "../daemon/https-request.js";
import { type InProcessCache, startInProcessCache } from "../daemon/in-process-cache.js";

const admin = { username: "admin", password: "warm-admin-password-1" };
let remote: FaultProxiedUpstream;
let cache: InProcessCache;
let image: TestImage;

beforeAll(async () => {
  remote = await startFaultProxiedUpstream("regmirror-warm-endpoint-");
  image = await buildTestImage({ seed: "warm-endpoint", layers: [4000, 9000] });
  await pushTestImage(image, remote.upstream, "team/app", { tag: "v1" });
  cache = await startInProcessCache(
    remote.cacheConfig({
      upstream: { name: "corp", hosts: ["corp.example.com"] },
      more: `  admin:\n    password: ${admin.password}\n`,
    }),
  );
});

afterAll(async () => {
  await cache?.close();
  await remote?.stop();
});

function warm(body: string, user = admin) {
  return sendRequest(cache.url, "/admin/v1/warm", {
    method: "POST",
    headers: { authorization: basicAuthorization(user), "content-type": "application/json" },
    body,
  });
}

describe("POST /admin/v1/warm", () => {
  test("answers when the image is stored; warming it again downloads nothing; a pull then asks upstream for no blob", async () => {
    const first = await warm(JSON.stringify({ image: "corp.example.com/team/app:v1" }));
    expect(first.status, first.body.toString()).toBe(200);
    const result = JSON.parse(first.body.toString());
    expect(result).toMatchObject({ digest: image.digest, blobs: 3, downloadedBlobs: 3 });

    const again = JSON.parse(
      (await warm(JSON.stringify({ image: "corp.example.com/team/app:v1" }))).body.toString(),
    );
    expect(again.downloadedBlobs).toBe(0);

    remote.proxy.resetCounts();
    const pulled = await skopeoPull(`${new URL(cache.url).host}/team/app:v1`, { tlsVerify: false });
    expect(pulled.digest).toBe(image.digest);
    expect(remote.proxy.requestCount(/\/blobs\//)).toBe(0);

    // Each blob the warm downloaded was a warm hit on its first pull, and only then.
    await skopeoPull(`${new URL(cache.url).host}/team/app:v1`, { tlsVerify: false });
    const metrics = (await sendRequest(cache.url, "/metrics")).body.toString();
    expect(metrics).toContain("regmirror_cache_warmed_blobs_total 3");
    expect(metrics).toContain("regmirror_cache_warm_hits_total 3");
  });

  test.each([
    ["not JSON", "{image", 400, "BAD_REQUEST", "the body is not JSON"],
    ["no image", "{}", 400, "BAD_REQUEST", 'no "image" in the body'],
    [
      "an invalid reference",
      '{"image":"corp.example.com/Team/App"}',
      400,
      "NAME_INVALID",
      "invalid image reference",
    ],
    [
      "a registry the cache does not mirror",
      '{"image":"quay.io/team/app:v1"}',
      403,
      "DENIED",
      "quay.io/team/app:v1",
    ],
    [
      "a tag upstream does not have",
      '{"image":"corp.example.com/team/app:v9"}',
      404,
      "MANIFEST_UNKNOWN",
      "team/app:v9",
    ],
  ])("%s: refused with a message naming why", async (_case, body, status, code, message) => {
    const answer = await warm(body);
    expect(answer.status, answer.body.toString()).toBe(status);
    const [error] = JSON.parse(answer.body.toString()).errors;
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });

  test("needs the admin credential and POST", async () => {
    const refused = await warm('{"image":"corp.example.com/team/app:v1"}', {
      ...admin,
      password: "wrong-password",
    });
    expect(refused.status).toBe(401);
    const get = await sendRequest(cache.url, "/admin/v1/warm", {
      headers: { authorization: basicAuthorization(admin) },
    });
    expect(get.status).toBe(405);
  });
});
