// Blob redirects (ADR 0038): a cache on a real S3 server (versitygw) answers GETs of stored blobs
// with a 307 to a presigned URL of the object; skopeo and containerd follow it to versitygw on
// loopback and verify the digests. HEAD, ranges, blobs not stored yet, pass-through auth and
// peer requests keep their behaviour, and with redirects off the cache sends the bytes itself.
import { createHash } from "node:crypto";
import * as kit from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWithPeerMark } from "../../src/peers/peer-request.js";
import { writeHostsToml } from "../pull-through/pull-through-harness.js";
import { alice, mirror } from "./client-auth-users.js";
import { basicAuthorization, sendRequest } from "./https-request.js";
import { type InProcessCache, startInProcessCache } from "./in-process-cache.js";
import { metricOf, type S3CacheSetup, startS3CacheSetup } from "./s3-cache-setup.js";

/** The upstream (htpasswd) and the bucket; a cache that redirects, one that does not. */
interface Fixture {
  setup: S3CacheSetup;
  redirecting: InProcessCache;
  serving: InProcessCache;
  hostsDir: string;
}
let fixture: Fixture | undefined;
let containerd: kit.Containerd | undefined;

const asAlice = { Authorization: basicAuthorization(alice) };

/** A cache on the shared bucket, pass-through auth, redirects as given. */
function cacheConfig(setup: S3CacheSetup, redirect: string): string {
  return `
http:
  addr: 127.0.0.1:0
regmirror:
  upstreams:
    - name: test
      hosts: [registry.test]
      endpoints: [${setup.upstream.url}]
      credentials: { username: ${mirror.username}, password: ${mirror.password} }
  storage:
${setup.s3Yaml}
    redirect: ${redirect}
  auth:
    mode: pass-through
    decisionTtl: 1m
`;
}

beforeAll(async () => {
  const setup = await startS3CacheSetup({
    seed: "s3-redirect",
    layers: [30_000, 300_000],
    bucket: "regmirror-cache",
    upstream: { auth: "htpasswd", users: [alice, mirror] },
    pusher: alice,
  });
  const redirecting = await startInProcessCache(
    cacheConfig(setup, "{ enabled: true, expiry: 1m }"),
  );
  const serving = await startInProcessCache(cacheConfig(setup, "{ enabled: false }"));
  const hostsDir = kit.makeTempDirectory("regmirror-redirect-hosts-");
  writeHostsToml(hostsDir, "registry.test", redirecting.url);
  fixture = { setup, redirecting, serving, hostsDir };
});

afterAll(async () => {
  await containerd?.stop();
  await kit.stopAll(fixture?.redirecting, fixture?.serving, fixture?.setup, fixture?.hostsDir);
});

/** The fixture, once beforeAll made it. */
function made(): Fixture {
  if (fixture === undefined) throw new Error("the fixture was not started");
  return fixture;
}

let firstLayerSize = 0;
const layers = () => made().setup.image.manifests[0]?.layerDigests ?? [];
const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const redirects = (cache: InProcessCache) =>
  metricOf(cache.url, "regmirror_cache_blob_redirects_total");

describe("S3 blob redirects", () => {
  it("a blob not stored yet is sent by the cache; once stored, a GET is a 307 to versitygw", async () => {
    const [layer] = layers();
    const path = `/v2/team/app/blobs/${layer}`;
    const first = await sendRequest(made().redirecting.url, path, { headers: asAlice });
    expect(first.status).toBe(200);
    expect(sha256(first.body)).toBe(layer);
    firstLayerSize = first.body.byteLength;
    // The fill stores the blob once it is verified: wait for that state.
    const store = made().redirecting.daemon.backend?.blobStore;
    await expect.poll(() => store?.stat(layer as string), { timeout: 30_000 }).toBeDefined();

    const second = await sendRequest(made().redirecting.url, path, { headers: asAlice });
    expect(second.status).toBe(307);
    expect(second.headers["docker-content-digest"]).toBe(layer);
    expect(second.headers["x-cache"]).toBe("HIT");
    expect(second.body.byteLength).toBe(0);
    const location = new URL(second.headers.location ?? "");
    expect(location.origin).toBe(new URL(made().setup.s3.endpoint).origin);
    expect(location.searchParams.get("X-Amz-Expires")).toBe("60");
    // Secrets stay out of the URL: only the access key id and a signature are in it.
    expect(location.href).not.toContain(made().setup.s3.secretAccessKey);
    const fromS3 = Buffer.from(await (await fetch(location)).arrayBuffer());
    expect(sha256(fromS3)).toBe(layer);

    // A signature that does not match is refused by S3, not served.
    const tampered = new URL(location);
    tampered.searchParams.set("X-Amz-Signature", "0".repeat(64));
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("SignatureDoesNotMatch");
    expect(await redirects(made().redirecting)).toBe(1);
  });

  it("HEAD and ranges of a stored blob are answered by the cache itself", async () => {
    const [layer] = layers();
    const path = `/v2/team/app/blobs/${layer}`;
    const head = await sendRequest(made().redirecting.url, path, {
      method: "HEAD",
      headers: asAlice,
    });
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(firstLayerSize));
    const range = await sendRequest(made().redirecting.url, path, {
      headers: { ...asAlice, Range: "bytes=10-19" },
    });
    expect(range.status).toBe(206);
    expect(range.body.byteLength).toBe(10);
  });

  it("a client that may not read is refused, never given a URL (pass-through auth)", async () => {
    const [layer] = layers();
    const identities: Record<string, string>[] = [
      {},
      { Authorization: basicAuthorization({ ...alice, password: "not-the-password" }) },
    ];
    for (const headers of identities) {
      const answer = await sendRequest(made().redirecting.url, `/v2/team/app/blobs/${layer}`, {
        headers,
      });
      expect([401, 403]).toContain(answer.status);
      expect(answer.headers.location).toBeUndefined();
      expect(answer.body.toString("utf8")).not.toContain("X-Amz-Signature");
    }
  });

  it("a replica's peer request gets the bytes, never a URL", async () => {
    const [layer] = layers();
    const storage = made().redirecting.daemon.backend?.storage;
    const context = { signal: new AbortController().signal };
    expect(await storage?.blobRedirect?.("team/app", layer as string, context)).toMatch(
      /X-Amz-Signature=/,
    );
    const forPeer = await runWithPeerMark({ fromPeer: true }, () =>
      storage?.blobRedirect?.("team/app", layer as string, context),
    );
    expect(forPeer).toBeUndefined();
  });

  it("skopeo pulls twice through the redirecting cache, following the 307s; digests verify", async () => {
    const reference = `${new URL(made().redirecting.url).host}/team/app:v1`;
    const before = await redirects(made().redirecting);
    for (let pull = 0; pull < 2; pull += 1) {
      const pulled = await kit.skopeoPull(reference, { tlsVerify: false, ...alice });
      expect(pulled.digest).toBe(made().setup.image.digest);
    }
    // The second pull at least finds config and layers stored: each GET of them is a redirect.
    const blobs = layers().length + 1;
    expect((await redirects(made().redirecting)) - before).toBeGreaterThanOrEqual(blobs);
  });

  it("containerd pulls through the redirecting cache (hosts.toml), following the 307s", async () => {
    containerd = await kit.startContainerd();
    const before = await redirects(made().redirecting);
    await containerd.pull("registry.test/team/app:v1", {
      hostsDir: made().hostsDir,
      user: `${alice.username}:${alice.password}`,
    });
    expect(await containerd.listImages()).toContainEqual(
      expect.objectContaining({
        name: "registry.test/team/app:v1",
        digest: made().setup.image.digest,
      }),
    );
    expect((await redirects(made().redirecting)) - before).toBeGreaterThanOrEqual(
      layers().length + 1,
    );
  });

  it("with redirects off, the cache on the same bucket sends the stored bytes itself", async () => {
    const [, layer] = layers();
    const answer = await sendRequest(made().serving.url, `/v2/team/app/blobs/${layer}`, {
      headers: asAlice,
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["x-cache"]).toBe("HIT");
    expect(sha256(answer.body)).toBe(layer);
    const pulled = await kit.skopeoPull(`${new URL(made().serving.url).host}/team/app:v1`, {
      tlsVerify: false,
      ...alice,
    });
    expect(pulled.digest).toBe(made().setup.image.digest);
    expect(await redirects(made().serving)).toBe(0);
  });
});
