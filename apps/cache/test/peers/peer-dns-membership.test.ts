// Members from DNS, answered by a real DNS server on loopback (dnsmasq, its records changed while
// the test runs): three replicas on one port at three loopback addresses, one of them IPv6 (::1),
// each giving its own address as `selfAddress` as a pod gives its IP. Replicas added and removed
// in DNS while clients pull cost no client an error or a wrong byte; a DNS server that answers
// nothing, then not at all, leaves the last members in place, logged once and counted.
import { buildTestImage, type DnsServer, pushTestImage, startDnsServer } from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { buildProductionBundle } from "../daemon/production-bundle.js";
import { pullWithFetch } from "../pull-through/pull-through-harness.js";
import {
  type CountedUpstream,
  metricOf,
  type Replica,
  startCountedUpstream,
  startPeerCluster,
} from "./peer-cluster.js";

const name = "replicas.peers.test";
const addresses = ["127.0.0.2", "127.0.0.3", "::1"];
let dns: DnsServer;
let counted: CountedUpstream;
let replicas: Replica[] = [];

beforeAll(async () => {
  let bundle: string;
  [bundle, counted, dns] = await Promise.all([
    buildProductionBundle(),
    startCountedUpstream("team/dns", [1_500_000, 1_000_000, 3_000]),
    // The IPv6 replica is not in DNS yet (not ready).
    startDnsServer({ domain: "peers.test", records: { [name]: ["127.0.0.2", "127.0.0.3"] } }),
  ]);
  replicas = await startPeerCluster(bundle, {
    count: 3,
    upstreamUrl: counted.proxy.url,
    storage: { kind: "filesystem" },
    shared: { addresses },
    membersYaml: ([port]) =>
      `{ dns: { name: ${name}, port: ${port}, interval: 200ms, server: "${dns.address}" } }`,
  });
}, 300_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.process.stop()));
  await counted?.stop();
  await dns?.stop();
});

const membersOf = (replica: Replica) => metricOf(replica, "regmirror_cache_peer_members");
const blobGets = (digest: string) =>
  counted.proxy
    .requests()
    .filter((seen) => seen.method === "GET" && seen.path.endsWith(`/blobs/${digest}`)).length;

function expectCorrect(result: Awaited<ReturnType<typeof pullWithFetch>>, digest: string) {
  expect(result.manifestDigest).toBe(digest);
  for (const blob of result.blobs) {
    expect(blob.status).toBe(200);
    expect(blob.computed).toBe(blob.digest);
  }
}

test("replicas found through DNS; one added (IPv6) and one removed while clients pull: every digest right", async () => {
  const [, , ipv6] = replicas;
  expect(ipv6?.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
  for (const replica of replicas) {
    await expect.poll(() => membersOf(replica), { timeout: 30_000 }).toBe(2);
  }
  // Upstream is slow, so the members change while the blobs are on their way.
  counted.proxy.setFault({ method: "GET", path: /\/blobs\//, throttleBytesPerSecond: 500_000 });
  const pulls = Array.from({ length: 9 }, (_, index) =>
    pullWithFetch((replicas[index % 3] as Replica).clientUrl, "team/dns", "v1"),
  );
  await expect
    .poll(() => counted.proxy.requests().filter((r) => r.path.includes("/blobs/")).length, {
      timeout: 60_000,
    })
    .toBeGreaterThan(0);
  await dns.setRecords({ [name]: ["127.0.0.3", "::1"] });
  const results = await Promise.all(pulls);
  counted.proxy.setFault(undefined);
  for (const result of results) expectCorrect(result, counted.image.digest);
  for (const replica of replicas) {
    await expect.poll(() => membersOf(replica), { timeout: 30_000 }).toBe(2);
  }

  // The new members agree on the owners, the IPv6 replica among them (its self URL is the one
  // built from its AAAA record): a new image pulled through all three comes from upstream once
  // per blob, and the IPv6 replica fetched its share.
  const image = await buildTestImage({
    seed: "dns-after",
    layers: [4_000, 5_000, 6_000, 7_000, 8_000, 9_000],
  });
  await pushTestImage(image, counted.registry, "team/dns-after", { tag: "v1" });
  const fillsBefore = await metricOf(ipv6 as Replica, "regmirror_cache_peer_owner_fills_total");
  const after = await Promise.all(
    replicas.map((replica) => pullWithFetch(replica.clientUrl, "team/dns-after", "v1")),
  );
  for (const result of after) expectCorrect(result, image.digest);
  const manifest = image.manifests[0];
  for (const digest of [manifest?.configDigest ?? "", ...(manifest?.layerDigests ?? [])]) {
    expect(blobGets(digest)).toBe(1);
  }
  expect(await metricOf(ipv6 as Replica, "regmirror_cache_peer_owner_fills_total")).toBeGreaterThan(
    fillsBefore,
  );

  // The status page lists the members and each replica's share; the one DNS dropped owns none.
  const [removed, kept] = replicas as [Replica, Replica, Replica];
  const ipv6Page = await statusOf(ipv6 as Replica);
  expect(ipv6Page).toContain('data-field="peer-members" data-value="2"');
  expect(ipv6Page).toContain('data-field="peer-share" data-value="0.5"');
  expect(ipv6Page).toContain(`data-peer="${kept.url}"`);
  expect(ipv6Page).toContain(`data-peer="${ipv6?.url}"`);
  expect(ipv6Page).not.toContain(`data-peer="${removed.url}"`);
  const removedPage = await statusOf(removed);
  expect(removedPage).toContain('data-field="peer-share" data-value="0"');
  expect(removedPage).toContain("is no member yet: it asks the members for all it misses");
}, 240_000);

async function statusOf(replica: Replica): Promise<string> {
  const response = await fetch(`${replica.clientUrl}/status/fragment`);
  expect(response.status).toBe(200);
  return response.text();
}

test("DNS answering nothing, then not at all: the last members are kept, logged once, counted", async () => {
  const failures = (replica: Replica) =>
    metricOf(replica, "regmirror_cache_peer_membership_read_failures_total");
  // The name has no records any more (NXDOMAIN).
  await dns.setRecords({ "other.peers.test": ["127.0.0.9"] });
  for (const replica of replicas) {
    await expect.poll(() => failures(replica), { timeout: 30_000 }).toBeGreaterThan(0);
  }
  // The server is gone: no answer at all.
  const counts = await Promise.all(replicas.map(failures));
  await dns.stop();
  for (const [index, replica] of replicas.entries()) {
    await expect
      .poll(() => failures(replica), { timeout: 30_000 })
      .toBeGreaterThan(counts[index] ?? 0);
    expect(await membersOf(replica)).toBe(2);
    const warnings = replica.process
      .logLines()
      .filter((line) => line.msg === "could not read the peer members: keeping the last list");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ source: "dns", name });
  }
  // Pulls still work with the members they knew.
  const again = await Promise.all(
    replicas.map((replica) => pullWithFetch(replica.clientUrl, "team/dns", "v1")),
  );
  for (const result of again) expectCorrect(result, counted.image.digest);
}, 120_000);
