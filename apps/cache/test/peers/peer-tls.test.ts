// Replicas on HTTPS whose certificate names their Service, not their addresses (as the operator's
// does): with regmirror.peers.tls (CA and serverName) they fetch from each other; a replica that
// does not check that name refuses its peers' certificates and falls back to upstream.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCertificateAuthority, makeTempDirectory } from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ownerOf } from "../../src/peers/rendezvous.js";
import { sendRequest } from "../daemon/https-request.js";
import {
  type InProcessCache,
  startInProcessCachesOnFreePorts,
} from "../daemon/in-process-cache.js";
import { blobGets, sha256 } from "../pull-through/pull-through-harness.js";
import { type CountedUpstream, peerSecret, startCountedUpstream } from "./peer-cluster.js";

const serviceName = "regmirror-peers.cache.svc";
let counted: CountedUpstream;
let ca: string;
const caches: InProcessCache[] = [];

beforeAll(async () => {
  counted = await startCountedUpstream("team/tls", [30_000, 20_000, 10_000, 5_000]);
  const authority = await makeCertificateAuthority();
  const certificate = await authority.issueServerCertificate([serviceName]);
  ca = authority.certificatePem;
  const directory = makeTempDirectory("regmirror-peer-tls-");
  for (const [name, text] of [
    ["ca.pem", authority.certificatePem],
    ["tls.crt", certificate.certificatePem],
    ["tls.key", certificate.keyPem],
  ] as const) {
    writeFileSync(join(directory, name), text);
  }
  // Each names the others' ports: all three start again on new ports when one was taken.
  const started = await startInProcessCachesOnFreePorts(3, (ports) => {
    const urls = ports.map((port) => `https://127.0.0.1:${port}`);
    return ports.map((port, index) => {
      // The third replica trusts the CA but checks the address it dials, which no certificate names.
      const tls =
        index < 2
          ? `{ caFile: ${join(directory, "ca.pem")}, serverName: ${serviceName} }`
          : `{ caFile: ${join(directory, "ca.pem")} }`;
      return `
http:
  addr: 127.0.0.1:${port}
  tls: { certificate: ${join(directory, "tls.crt")}, key: ${join(directory, "tls.key")} }
regmirror:
  upstreams: [{ name: upstream, endpoints: [${counted.proxy.url}] }]
  storage: { filesystem: { rootDirectory: ${join(directory, `store-${port}`)} } }
  peers:
    self: ${urls[index]}
    secret: ${peerSecret}
    members: { static: [${(index < 2 ? urls.slice(0, 2) : urls).join(", ")}] }
    tls: ${tls}
`;
    });
  });
  caches.push(...started);
});

afterAll(async () => {
  await Promise.all(caches.map((cache) => cache.close()));
  await counted?.stop();
});

const get = (cache: InProcessCache | undefined, path: string) =>
  sendRequest(cache?.url ?? "", path, { ca, servername: serviceName });

async function metric(cache: InProcessCache | undefined, name: string): Promise<number> {
  const text = (await get(cache, "/metrics")).body.toString("utf8");
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

test("with the CA and the Service's name, a replica fetches what its peer owns from it over HTTPS", async () => {
  const [first, second] = caches;
  const members = [first?.url ?? "", second?.url ?? ""];
  const layers = counted.image.manifests[0]?.layerDigests ?? [];
  const ownedBySecond = layers.filter((digest) => ownerOf(digest, members) === second?.url);
  expect(ownedBySecond.length).toBeGreaterThan(0);
  for (const digest of ownedBySecond) {
    const answer = await get(first, `/v2/team/tls/blobs/${digest}`);
    expect(answer.status).toBe(200);
    expect(sha256(answer.body)).toBe(digest);
    expect(blobGets(counted.proxy.requests(), digest)).toBe(1);
  }
  expect(await metric(first, "regmirror_cache_peer_hits_total")).toBe(ownedBySecond.length);
  expect(await metric(first, "regmirror_cache_peer_upstream_fallbacks_total")).toBe(0);
});

test("a replica that checks the address it dials refuses its peers' certificates and asks upstream", async () => {
  const third = caches[2];
  const members = caches.map((cache) => cache.url);
  const layers = counted.image.manifests[0]?.layerDigests ?? [];
  const ownedByOthers = layers.filter((digest) => ownerOf(digest, members) !== third?.url);
  expect(ownedByOthers.length).toBeGreaterThan(0);
  const digest = ownedByOthers[0] ?? "";
  const answer = await get(third, `/v2/team/tls/blobs/${digest}`);
  expect(answer.status).toBe(200);
  expect(sha256(answer.body)).toBe(digest);
  expect(await metric(third, "regmirror_cache_peer_misses_total")).toBeGreaterThan(0);
  expect(await metric(third, "regmirror_cache_peer_upstream_fallbacks_total")).toBe(1);
});
