// Peers and `regmirror.workers: 2` with htpasswd client auth (real processes, the production
// bundle): another replica's signed request is served whichever worker the kernel gives its
// connection to, unsigned or wrongly signed it is refused there too. The other worker passes every
// signed request to the first, which checks the signature (docs/adr/0037-dns-members-ipv6-and-workers.md).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { peerHeader, signPeerRequest } from "../../src/peers/peer-signature.js";
import {
  type CacheProcess,
  startCacheWithWorkers,
  workerAnswers,
} from "../daemon/cache-process.js";
import { startOnFreePorts } from "../daemon/free-ports.js";
import { getOnNewConnection } from "../daemon/new-connection.js";
import { buildProductionBundle } from "../daemon/production-bundle.js";
import { sha256 } from "../pull-through/pull-through-harness.js";
import {
  type CountedUpstream,
  htpasswdReplicaYaml,
  peerSecret,
  startCountedUpstream,
} from "./peer-cluster.js";

let directory: string;
let counted: CountedUpstream;
let cache: CacheProcess | undefined;

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-peer-workers-");
  let bundle: string;
  [bundle, counted] = await Promise.all([
    buildProductionBundle(),
    startCountedUpstream("team/private", [200_000]),
  ]);
  const configFile = join(directory, "config.yml");
  // The file names the cache's own port (its peer URL): a new port when another process took it.
  [cache] = await startOnFreePorts("the cache", 1, ([port]) => {
    writeFileSync(
      configFile,
      htpasswdReplicaYaml(directory, port ?? 0, counted.proxy.url, "  workers: 2\n"),
    );
    return [startCacheWithWorkers(bundle, configFile, directory)];
  });
}, 180_000);

afterAll(async () => {
  await cache?.stop();
  await counted?.stop();
  if (directory) removeTempDirectory(directory);
});

const signed = (path: string, secret = peerSecret) => ({
  [peerHeader]: signPeerRequest(secret, {
    method: "GET",
    path,
    sender: "http://127.0.0.1:1",
    nowMs: Date.now(),
  }),
});

/** Blob GETs the other worker answered with `status` (its access log names the worker). */
const otherWorkerAnswers = (status: number) => workerAnswers(cache, "other", "blob", status).length;

test("a stored blob: signed requests served on either worker, unsigned and wrongly signed refused", async () => {
  const layer = counted.image.manifests[0]?.layerDigests[0] ?? "";
  const path = `/v2/team/private/blobs/${layer}`;
  const url = `${cache?.url}${path}`;
  // Stored first, so the other worker holds it and would serve it itself.
  const first = await getOnNewConnection(url, signed(path));
  expect(first.status).toBe(200);
  expect(sha256(first.body)).toBe(layer);

  // New connections until the other worker has answered signed ones (the kernel picks).
  for (let attempt = 0; attempt < 200 && otherWorkerAnswers(200) < 3; attempt += 1) {
    const answer = await getOnNewConnection(url, signed(path));
    expect(answer.status).toBe(200);
    expect(sha256(answer.body)).toBe(layer);
  }
  expect(otherWorkerAnswers(200)).toBeGreaterThanOrEqual(3);

  for (let attempt = 0; attempt < 200 && otherWorkerAnswers(401) < 6; attempt += 1) {
    const unsigned = await getOnNewConnection(url);
    expect(unsigned.status).toBe(401);
    const wrong = await getOnNewConnection(
      url,
      signed(path, "not-the-secret-of-these-replicas-at-all"),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.toString("utf8")).toContain("peer request refused");
  }
  expect(otherWorkerAnswers(401)).toBeGreaterThanOrEqual(6);
  // One upstream GET for the blob, whichever worker the requests reached.
  expect(
    counted.proxy.requests().filter((seen) => seen.method === "GET" && seen.path.endsWith(layer)),
  ).toHaveLength(1);
}, 120_000);

test("carol's own credentials: the other worker, configured over its channel (docs/adr/0040-memory-per-worker.md), serves her stored blobs itself", async () => {
  const layer = counted.image.manifests[0]?.layerDigests[0] ?? "";
  const url = `${cache?.url}/v2/team/private/blobs/${layer}`;
  const basic = (password: string) => ({
    authorization: `Basic ${Buffer.from(`carol:${password}`).toString("base64")}`,
  });
  // Its own client auth (the htpasswd file named in the configuration it got) names the user;
  // a request it passed to the first would be logged here without one.
  const carolsHits = () =>
    workerAnswers(cache, "other", "blob", 200).filter(
      (line) => line.user === "carol" && line.cache === "hit",
    ).length;
  for (let attempt = 0; attempt < 200 && carolsHits() < 3; attempt += 1) {
    const answer = await getOnNewConnection(url, basic("carol-password"));
    expect(answer.status).toBe(200);
    expect(sha256(answer.body)).toBe(layer);
  }
  expect(carolsHits()).toBeGreaterThanOrEqual(3);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    expect((await getOnNewConnection(url, basic("not-carols-password"))).status).toBe(401);
  }
  expect(cache?.stdout()).not.toContain("carol-password");
}, 120_000);
