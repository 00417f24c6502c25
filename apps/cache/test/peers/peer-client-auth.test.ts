// A cache with htpasswd client auth and peers: a replica's signed request is served without a
// user's credentials (the replica that sends it has authorized its client); the same request
// unsigned, or signed with another secret, is refused.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildTestImage,
  freePort,
  htpasswdFile,
  makeTempDirectory,
  pushTestImage,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { peerHeader, signPeerRequest } from "../../src/peers/peer-signature.js";
import { type InProcessCache, startInProcessCache } from "../daemon/in-process-cache.js";
import { fetchAll, sha256 } from "../pull-through/pull-through-harness.js";
import { peerSecret } from "./peer-cluster.js";

let upstream: UpstreamRegistry;
let cache: InProcessCache;
let image: TestImage;

beforeAll(async () => {
  upstream = await startUpstreamRegistry();
  image = await buildTestImage({ seed: "peer-client-auth", layers: [20_000] });
  await pushTestImage(image, upstream, "team/private", { tag: "v1" });
  const directory = makeTempDirectory("regmirror-peer-auth-");
  writeFileSync(
    join(directory, "htpasswd"),
    htpasswdFile([{ username: "carol", password: "carol-password" }]),
  );
  const port = await freePort();
  cache = await startInProcessCache(`
http:
  addr: 127.0.0.1:${port}
regmirror:
  upstreams: [{ name: upstream, endpoints: [${upstream.url}] }]
  storage: { filesystem: { rootDirectory: ${join(directory, "store")} } }
  auth: { mode: htpasswd, htpasswdFile: ${join(directory, "htpasswd")} }
  peers:
    self: http://127.0.0.1:${port}
    secret: ${peerSecret}
    members: { static: [http://127.0.0.1:${port}] }
`);
});

afterAll(async () => {
  await cache?.close();
  await upstream?.stop();
});

function signed(path: string, secret: string) {
  const signature = signPeerRequest(secret, {
    method: "GET",
    path,
    sender: "http://127.0.0.1:1",
    nowMs: Date.now(),
  });
  return fetchAll(`${cache.url}${path}`, { headers: { [peerHeader]: signature } });
}

test("a signed peer request needs no user; unsigned or wrongly signed it is refused", async () => {
  const layer = image.manifests[0]?.layerDigests[0] ?? "";
  const path = `/v2/team/private/blobs/${layer}`;
  expect((await fetchAll(`${cache.url}${path}`)).status).toBe(401);
  const fromPeer = await signed(path, peerSecret);
  expect(fromPeer.status).toBe(200);
  expect(sha256(fromPeer.body)).toBe(layer);
  const wrong = await signed(path, "not-the-secret-of-these-replicas-at-all");
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
  const old = signPeerRequest(peerSecret, {
    method: "GET",
    path,
    sender: "http://127.0.0.1:1",
    nowMs: Date.now() - 10 * 60_000,
  });
  const expired = await fetchAll(`${cache.url}${path}`, { headers: { [peerHeader]: old } });
  expect(expired.status).toBe(401);
  expect(expired.body.toString("utf8")).toContain("too old");
});
