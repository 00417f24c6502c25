// A cache with htpasswd client auth and peers: a replica's signed request is served without a
// user's credentials (the replica that sends it has authorized its client); the same request
// unsigned, signed with another secret, replayed on another path or expired is refused.
import { makeTempDirectory } from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { peerHeader, signPeerRequest } from "../../src/peers/peer-signature.js";
import { type InProcessCache, startInProcessCacheOnFreePort } from "../daemon/in-process-cache.js";
import { fetchAll, sha256 } from "../pull-through/pull-through-harness.js";
import {
  type CountedUpstream,
  htpasswdReplicaYaml,
  peerSecret,
  signedFetch,
  startCountedUpstream,
} from "./peer-cluster.js";

let counted: CountedUpstream;
let cache: InProcessCache;

beforeAll(async () => {
  counted = await startCountedUpstream("team/private", [20_000]);
  const directory = makeTempDirectory("regmirror-peer-auth-");
  cache = await startInProcessCacheOnFreePort((port) =>
    htpasswdReplicaYaml(directory, port, counted.proxy.url),
  );
});

afterAll(async () => {
  await cache?.close();
  await counted?.stop();
});

test("a signed peer request needs no user; unsigned or wrongly signed it is refused", async () => {
  const layer = counted.image.manifests[0]?.layerDigests[0] ?? "";
  const path = `/v2/team/private/blobs/${layer}`;
  expect((await fetchAll(`${cache.url}${path}`)).status).toBe(401);
  const fromPeer = await signedFetch(cache.url, path);
  expect(fromPeer.status).toBe(200);
  expect(sha256(fromPeer.body)).toBe(layer);
  const wrong = await signedFetch(cache.url, path, "not-the-secret-of-these-replicas-at-all");
  expect(wrong.status).toBe(401);
  expect(wrong.body.toString("utf8")).toContain("peer request refused");
  // A signature is good for its own request line only.
  const signature = signPeerRequest(peerSecret, {
    method: "GET",
    path,
    sender: "http://127.0.0.1:1",
    nowMs: Date.now(),
  });
  const replayed = await fetchAll(`${cache.url}/v2/team/private/manifests/v1`, {
    headers: { [peerHeader]: signature },
  });
  expect(replayed.status).toBe(401);
  // Old signatures expire.
  const expired = await signedFetch(cache.url, path, peerSecret, Date.now() - 10 * 60_000);
  expect(expired.status).toBe(401);
  expect(expired.body.toString("utf8")).toContain("too old");
});
