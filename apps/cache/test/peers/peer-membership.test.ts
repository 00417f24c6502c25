// Members from the EndpointSlice API of a real kube-apiserver: readiness decides who is a member,
// and replicas coming and going while clients pull cost no client an error or a wrong byte.
// The API refuses loopback IP addresses in EndpointSlices, so the slices name the replicas by
// FQDN (`replica-N.peers.test`), which peer-names.mjs resolves to 127.0.0.1 in the replicas: the
// one stand-in, for the cluster DNS that does not run here.
import { writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildTestImage,
  type FaultProxy,
  type KubeApiServer,
  makeTempDirectory,
  pushTestImage,
  startFaultProxy,
  startKubeApiServer,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { buildProductionBundle } from "../daemon/production-bundle.js";
import { pullWithFetch } from "../pull-through/pull-through-harness.js";
import { metricOf, type Replica, startPeerCluster } from "./peer-cluster.js";

let api: KubeApiServer;
let upstream: UpstreamRegistry;
let proxy: FaultProxy;
let image: TestImage;
let replicas: Replica[] = [];

/** A JSON request to the API server as its admin. */
function kube(method: string, path: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = request(
      new URL(path, api.url),
      {
        method,
        ca: api.ca,
        headers: { authorization: `Bearer ${api.token}`, "content-type": "application/json" },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    call.on("error", reject);
    call.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";

/** One slice per replica: on loopback each listens on a port of its own. */
function slice(name: string, replica: Replica | undefined, ready: boolean) {
  const url = new URL(replica?.url ?? "");
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, labels: { "kubernetes.io/service-name": "regmirror-peers" } },
    addressType: "FQDN",
    endpoints: [{ addresses: [url.hostname], conditions: { ready } }],
    ports: [{ name: "registry", port: Number(url.port), protocol: "TCP" }],
  };
}

beforeAll(async () => {
  let bundle: string;
  [bundle, api, upstream] = await Promise.all([
    buildProductionBundle(),
    startKubeApiServer(),
    startUpstreamRegistry(),
  ]);
  proxy = await startFaultProxy({ target: upstream.url });
  image = await buildTestImage({ seed: "peer-membership", layers: [1_500_000, 1_000_000, 3_000] });
  await pushTestImage(image, upstream, "team/membership", { tag: "v1" });
  const files = makeTempDirectory("regmirror-service-account-");
  writeFileSync(join(files, "token"), api.token);
  writeFileSync(join(files, "ca.crt"), api.ca);
  replicas = await startPeerCluster(bundle, {
    count: 3,
    upstreamUrl: proxy.url,
    storage: { kind: "filesystem" },
    urlOf: (index, port) => `http://replica-${index}.peers.test:${port}`,
    env: {
      ...process.env,
      NODE_OPTIONS: `--import=${fileURLToPath(new URL("./peer-names.mjs", import.meta.url))}`,
    },
    membersYaml: () => `
      kubernetes:
        namespace: default
        service: regmirror-peers
        portName: registry
        interval: 200ms
        apiServer: ${api.url}
        tokenFile: ${join(files, "token")}
        caFile: ${join(files, "ca.crt")}`,
  });
}, 300_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.process.stop()));
  await proxy?.stop();
  await upstream?.stop();
  await api?.stop();
});

const membersOf = (replica: Replica) => metricOf(replica, "regmirror_cache_peer_members");

test("a replica added and one removed while clients pull: every client gets every digest right", async () => {
  const [first, second, third] = replicas;
  expect(await kube("POST", slices, slice("cache-a", first, true))).toBe(201);
  expect(await kube("POST", slices, slice("cache-b", second, true))).toBe(201);
  // The third is not ready yet: no member.
  expect(await kube("POST", slices, slice("cache-c", third, false))).toBe(201);
  for (const replica of replicas) {
    await expect.poll(() => membersOf(replica), { timeout: 30_000 }).toBe(2);
  }

  // Upstream is slow, so the membership changes while the blobs are on their way.
  proxy.setFault({ method: "GET", path: /\/blobs\//, throttleBytesPerSecond: 500_000 });
  const pulls = Array.from({ length: 9 }, (_, index) =>
    pullWithFetch((replicas[index % 3] as Replica).clientUrl, "team/membership", "v1"),
  );
  await expect
    .poll(() => proxy.requests().filter((r) => r.path.includes("/blobs/")).length, {
      timeout: 60_000,
    })
    .toBeGreaterThan(0);
  expect(await kube("PUT", `${slices}/cache-c`, slice("cache-c", third, true))).toBe(200);
  expect(await kube("DELETE", `${slices}/cache-a`)).toBe(200);
  const results = await Promise.all(pulls);
  proxy.setFault(undefined);

  for (const result of results) {
    expect(result.manifestDigest).toBe(image.digest);
    for (const blob of result.blobs) {
      expect(blob.status).toBe(200);
      expect(blob.computed).toBe(blob.digest);
    }
  }
  // Every replica follows the change: the first left, the third joined.
  for (const replica of replicas) {
    await expect.poll(() => membersOf(replica), { timeout: 30_000 }).toBe(2);
    expect(
      await metricOf(replica, "regmirror_cache_peer_membership_changes_total"),
    ).toBeGreaterThanOrEqual(3);
  }
});
