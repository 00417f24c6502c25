// Three cache replicas sharing their downloads (regmirror.peers), as real processes on loopback
// in front of one real docker-registry (behind the kit's counting fault proxy): 30 concurrent
// cold pulls spread over the replicas make one upstream GET per blob, with S3 storage
// (versitygw) and with each replica's own filesystem store.
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
import { buildProductionBundle } from "../daemon/production-bundle.js";
import { blobGets, pullWithFetch } from "../pull-through/pull-through-harness.js";
import { type ClusterStorage, metricOf, type Replica, startPeerCluster } from "./peer-cluster.js";

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
});
