// Three cache replicas sharing their downloads (regmirror.peers), as real processes on loopback
// in front of one real docker-registry (behind the kit's counting fault proxy): 30 concurrent
// cold pulls spread over the replicas make one upstream GET per blob; the owner SIGKILLed in the
// middle of a fill costs its clients nothing; requests between replicas must be signed and
// reach only configured upstreams. With S3 storage (versitygw) and with each replica's own
// filesystem store.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildTestImage,
  type FaultProxy,
  pushTestImage,
  type S3Server,
  skopeoPull,
  startFaultProxy,
  startS3Server,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { peerHeader, signPeerRequest } from "../../src/peers/peer-signature.js";
import { ownerOf, rankMembers } from "../../src/peers/rendezvous.js";
import { buildProductionBundle } from "../daemon/production-bundle.js";
import {
  blobGets,
  fetchAll,
  manifestAccept,
  pullWithFetch,
  sha256,
} from "../pull-through/pull-through-harness.js";
import {
  type ClusterStorage,
  metricOf,
  peerSecret,
  type Replica,
  signedFetch,
  startPeerCluster,
} from "./peer-cluster.js";

let bundle: string;
let upstream: UpstreamRegistry;
let proxy: FaultProxy;
let s3: S3Server;

beforeAll(async () => {
  [bundle, upstream, s3] = await Promise.all([
    buildProductionBundle(),
    startUpstreamRegistry(),
    startS3Server(),
  ]);
  proxy = await startFaultProxy({ target: upstream.url });
  await s3.createBucket("shared-cache");
});

afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
  await upstream?.stop();
});

function errorOf(body: Buffer): { code: string; message: string } | undefined {
  return (JSON.parse(body.toString("utf8")) as { errors: { code: string; message: string }[] })
    .errors[0];
}

/** The blobs of an image: its config and layers. */
function blobDigests(image: TestImage): string[] {
  const manifest = image.manifests[0];
  return manifest === undefined ? [] : [manifest.configDigest, ...manifest.layerDigests];
}

/** skopeo's copy of a pulled blob, hashed again here. */
function pulledBlobDigest(directory: string, digest: string): string {
  const bytes = readFileSync(join(directory, digest.slice("sha256:".length)));
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

const storages: [string, () => ClusterStorage][] = [
  ["one shared S3 bucket", () => ({ kind: "s3", server: s3, bucket: "shared-cache" })],
  ["each replica's own filesystem store", () => ({ kind: "filesystem" })],
];

describe.each(storages)("three replicas on %s", (name, storage) => {
  let replicas: Replica[] = [];
  let image: TestImage;
  const repository = `team/peers-${name.includes("S3") ? "s3" : "fs"}`;

  beforeAll(async () => {
    image = await buildTestImage({ seed: repository, layers: [300_000, 200_000, 5_000] });
    await pushTestImage(image, upstream, repository, { tag: "v1" });
    replicas = await startPeerCluster(bundle, {
      count: 3,
      upstreamUrl: proxy.url,
      storage: storage(),
    });
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.process.stop()));
  });

  test("30 concurrent cold pulls over the replicas: one upstream GET per blob, every digest verified", async () => {
    proxy.resetCounts();
    const pulls = Array.from({ length: 30 }, (_, index) => {
      const replica = replicas[index % replicas.length] as Replica;
      // Every tenth client is skopeo; the others pull as a registry client does, with fetch.
      if (index % 10 === 0) {
        return skopeoPull(`${new URL(replica.url).host}/${repository}:v1`, {
          tlsVerify: false,
        }).then((pulled) => ({
          manifestDigest: pulled.digest,
          blobs: blobDigests(image).map((digest) => ({
            digest,
            status: 200,
            computed: pulledBlobDigest(pulled.directory, digest),
          })),
        }));
      }
      return pullWithFetch(replica.url, repository, "v1");
    });
    const results = await Promise.all(pulls);
    for (const result of results) {
      expect(result.manifestDigest).toBe(image.digest);
      for (const blob of result.blobs) {
        expect(blob.status).toBe(200);
        expect(blob.computed).toBe(blob.digest);
      }
    }
    for (const digest of blobDigests(image)) {
      expect({ digest, gets: blobGets(proxy.requests(), digest) }).toEqual({ digest, gets: 1 });
    }
    // Manifests too: the tag is resolved (HEAD) by its owner, the manifest fetched once.
    const manifestGets = proxy
      .requests()
      .filter((request) => request.method === "GET" && request.path.includes("/manifests/"));
    expect(manifestGets.map((request) => request.path)).toEqual([
      `/v2/${repository}/manifests/${image.digest}`,
    ]);
    // Each replica that missed a blob it does not own got it from its owner.
    const peerHits = await Promise.all(
      replicas.map((replica) => metricOf(replica, "regmirror_cache_peer_hits_total")),
    );
    expect(peerHits.reduce((sum, hits) => sum + hits, 0)).toBeGreaterThan(0);
    const fallbacks = await Promise.all(
      replicas.map((replica) => metricOf(replica, "regmirror_cache_peer_upstream_fallbacks_total")),
    );
    expect(fallbacks).toEqual([0, 0, 0]);
  });

  test("requests between replicas: a wrong or missing signature is refused, unconfigured registries stay refused", async () => {
    const replica = replicas[0] as Replica;
    const digest = blobDigests(image)[1] ?? "";
    const path = `/v2/${repository}/blobs/${digest}`;
    const unsigned = await fetchAll(`${replica.url}${path}`, {
      headers: { [peerHeader]: "http://127.0.0.1:1 0 not-a-signature" },
    });
    expect(unsigned.status).toBe(401);
    expect(errorOf(unsigned.body)).toMatchObject({
      code: "UNAUTHORIZED",
      message: expect.stringContaining("peer request refused"),
    });
    const wrongSecret = await signedFetch(
      replica.url,
      path,
      "another-secret-another-secret-another",
    );
    expect(wrongSecret.status).toBe(401);
    expect(errorOf(wrongSecret.body)?.message).toContain("does not match");
    expect(wrongSecret.body.toString("utf8")).not.toContain(peerSecret);

    proxy.resetCounts();
    for (const elsewhere of [
      `/v2/registry.elsewhere.example/team/app/blobs/${digest}`,
      `/v2/team/app/blobs/${digest}?ns=registry.elsewhere.example`,
    ]) {
      const refused = await signedFetch(replica.url, elsewhere);
      expect({ elsewhere, status: refused.status }).toEqual({ elsewhere, status: 403 });
      expect(errorOf(refused.body)?.code).toBe("DENIED");
    }
    expect(proxy.requests()).toEqual([]);

    const signed = await signedFetch(replica.url, path);
    expect(signed.status).toBe(200);
    expect(sha256(signed.body)).toBe(digest);
  });

  test("a peer asks a tag's owner about the tag: the owner gets the manifest from the digest's owner, one upstream GET", async () => {
    const named = `${repository}-tags`;
    const tagged = await buildTestImage({ seed: named, layers: [1_000] });
    const urls = replicas.map((replica) => replica.url);
    const replicaOf = (key: string) =>
      replicas.find((replica) => replica.url === ownerOf(key, urls)) as Replica;
    // A tag owned by another replica than the manifest's digest (ownership follows the ports).
    const tag = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"].find(
      (candidate) =>
        ownerOf(`upstream/${named}:${candidate}`, urls) !== ownerOf(tagged.digest, urls),
    );
    if (tag === undefined) throw new Error("the manifest's owner owns every tag tried");
    await pushTestImage(tagged, upstream, named, { tag });
    const tagOwner = replicaOf(`upstream/${named}:${tag}`);
    const digestOwner = replicaOf(tagged.digest);
    const peerHitsBefore = await metricOf(tagOwner, "regmirror_cache_peer_hits_total");
    proxy.resetCounts();

    // As another replica asks: a signed HEAD of the tag.
    const path = `/v2/${named}/manifests/${tag}`;
    const head = await fetch(`${tagOwner.url}${path}`, {
      method: "HEAD",
      headers: {
        accept: manifestAccept,
        [peerHeader]: signPeerRequest(peerSecret, {
          method: "HEAD",
          path,
          sender: "http://127.0.0.1:1",
          nowMs: Date.now(),
        }),
      },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get("docker-content-digest")).toBe(tagged.digest);
    expect(await metricOf(tagOwner, "regmirror_cache_peer_hits_total")).toBe(peerHitsBefore + 1);
    // The digest's owner has it now: its own client's pull asks upstream for no manifest again.
    const pulled = await fetchAll(`${digestOwner.url}${path}`, {
      headers: { accept: manifestAccept },
    });
    expect(sha256(pulled.body)).toBe(tagged.digest);
    const manifestGets = proxy
      .requests()
      .filter((request) => request.method === "GET" && request.path.includes("/manifests/"));
    expect(manifestGets.map((request) => request.path)).toEqual([
      `/v2/${named}/manifests/${tagged.digest}`,
    ]);
  });

  test("the owner SIGKILLed in the middle of a fill: every client completes with correct bytes; upstream sends the lost part and one copy", async () => {
    const big = await buildTestImage({ seed: `${repository}-big`, layers: [4_000_000] });
    await pushTestImage(big, upstream, `${repository}-big`, { tag: "v1" });
    const digest = big.manifests[0]?.layerDigests[0] ?? "";
    const urls = replicas.map((replica) => replica.url);
    const owner = replicas.find((replica) => replica.url === ownerOf(digest, urls)) as Replica;
    const [, next, last] = rankMembers(digest, urls).map(
      (url) => replicas.find((replica) => replica.url === url) as Replica,
    );
    proxy.resetCounts();
    // The owner's download is slow, so that it is cut in the middle; later downloads are not.
    proxy.setFault({
      method: "GET",
      path: new RegExp(`/blobs/${digest}`),
      times: 1,
      throttleBytesPerSecond: 500_000,
    });
    const path = `/v2/${repository}-big/blobs/${digest}`;
    // Clients of the replicas that survive; the owner's own clients lose their connection
    // with it and ask again elsewhere (a Service sends them to another replica).
    const clients = [next, last, next, last].map((replica) => fetchAll(`${replica?.url}${path}`));
    const upstreamGets = () =>
      proxy
        .requests()
        .filter((request) => request.method === "GET" && request.path.includes(digest));
    await expect
      .poll(() => upstreamGets()[0]?.bodyBytesSent ?? 0, { timeout: 60_000 })
      .toBeGreaterThan(500_000);
    owner.process.signal("SIGKILL");
    await owner.process.exited;
    const results = await Promise.all(clients);
    for (const result of results) {
      expect(result.status).toBe(200);
      expect(sha256(result.body)).toBe(digest);
    }
    const gets = upstreamGets();
    expect(gets).toHaveLength(2);
    const [lost, copy] = gets;
    expect((lost?.bodyBytesSent ?? 0) + (copy?.bodyBytesSent ?? 0)).toBeLessThanOrEqual(
      (lost?.bodyBytesSent ?? 0) + (big.blobs.get(digest)?.byteLength ?? 0),
    );
    // What is stored is whole: the replica next in line serves it from its store (or the
    // shared bucket), the other from it, and upstream is not asked again.
    for (const survivor of [next, last]) {
      const again = await fetchAll(`${survivor?.url}${path}`);
      expect(sha256(again.body)).toBe(digest);
    }
    expect(upstreamGets()).toHaveLength(2);
    expect((await fetchAll(`${next?.url}${path}`)).headers.get("x-cache")).toBe("HIT");
  });
});
