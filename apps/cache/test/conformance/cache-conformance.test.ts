// The OCI distribution-spec conformance suite against the cache daemon over TLS, in its read-only
// mode (the cache takes no pushes): content is pushed to the upstream first and the suite pulls
// it through the cache (OCI_RO_DATA_*), one test per conformance case. Two upstreams:
// (a) the real docker-registry (distribution 2.8: no referrers API, no sha512), and
// (b) the example registry holding sha512 content, subjects and referrers, so that the cache's
//     referrers answers are checked too. A few checks the suite cannot make in read-only mode
//     follow each run (what the cache answered must equal what upstream holds).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createRegistryClient } from "@regmirror/oci-distribution";
import { createExampleRegistry } from "@regmirror/oci-distribution/testing";
import {
  makeCertificateAuthority,
  makeTempDirectory,
  registerConformanceTests,
  removeTempDirectory,
  runConformanceSuite,
  startUpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, describe, expect, test } from "vitest";
import { sendRequest } from "../daemon/https-request.js";
import { startTlsCacheDaemon, type TlsCacheDaemon } from "../e2e/tls-cache-daemon.js";
import {
  artifactTypes,
  type PushedContent,
  pushImagesAndReferrersTag,
  pushReferrersAndSha512,
} from "./read-only-content.js";

const repository = "conformance/repo1";
const resultsRoot = join(import.meta.dirname, "..", "..", "reports", "conformance");

/**
 * Read-only OCI 1.1: every pull API; no push, no delete (the cache refuses both). Blob answers
 * must carry Docker-Content-Digest. The manifest digest header cannot be required here: in
 * read-only mode this version of the suite does not record the response it checks the header
 * of, so it would fail every manifest (the header itself is checked below).
 */
function readOnlySettings(cache: TlsCacheDaemon, content: PushedContent, referrersApi: boolean) {
  return {
    OCI_VERSION: "1.1",
    OCI_REGISTRY: new URL(cache.url).host,
    OCI_TLS: "enabled",
    OCI_REPO1: repository,
    OCI_API_PULL: "true",
    OCI_API_PUSH: "false",
    OCI_API_BLOBS_DELETE: "false",
    OCI_API_MANIFESTS_DELETE: "false",
    OCI_API_TAGS_DELETE: "false",
    OCI_API_TAGS_LIST: "true",
    OCI_API_BLOBS_DIGEST_HEADER: "true",
    OCI_API_MANIFESTS_DIGEST_HEADER: "false",
    OCI_API_REFERRER: String(referrersApi),
    OCI_RO_DATA_TAGS: content.tags.join(" "),
    OCI_RO_DATA_MANIFESTS: content.manifests.join(" "),
    OCI_RO_DATA_BLOBS: content.blobs.join(" "),
    OCI_RO_DATA_REFERRERS: content.referrers.join(" "),
  } as const;
}

const directory = makeTempDirectory("regmirror-cache-conformance-");
const authority = await makeCertificateAuthority({ commonName: "regmirror conformance test CA" });
const caFile = join(directory, "ca.pem");
await writeFile(caFile, authority.certificatePem);
const cleanups: (() => Promise<void>)[] = [() => removeTempDirectory(directory)];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Starts the cache in front of `upstreamUrl` and runs the suite through it. */
async function runThroughCache(
  name: "docker-registry" | "example-registry",
  upstreamUrl: string,
  content: PushedContent,
  referrersApi: boolean,
) {
  const cacheDirectory = join(directory, name);
  await mkdir(cacheDirectory);
  const cache = await startTlsCacheDaemon({
    directory: cacheDirectory,
    authority,
    upstream: { name, hosts: [new URL(upstreamUrl).host], endpoints: [upstreamUrl] },
  });
  cleanups.push(() => cache.close());
  const run = await runConformanceSuite({
    settings: readOnlySettings(cache, content, referrersApi),
    resultsDirectory: join(resultsRoot, `cache-${name}`),
    caFile,
  });
  return { cache, run };
}

function clientOf(url: string) {
  const client = createRegistryClient({ registry: url, ca: authority.certificatePem });
  cleanups.push(() => client.close());
  return client;
}

// (a) the real docker-registry: it has no referrers API, and so the cache has none for it.
const distribution = await startUpstreamRegistry();
cleanups.push(() => distribution.stop());
const distributionContent = await pushImagesAndReferrersTag(distribution.url, repository);
const { cache: distributionCache, run: distributionRun } = await runThroughCache(
  "docker-registry",
  distribution.url,
  distributionContent,
  false,
);

// (b) the example registry with sha512 content and referrers
const example = await createExampleRegistry();
cleanups.push(() => example.close());
const exampleContent = await pushReferrersAndSha512(example.url, repository);
const { cache: exampleCache, run: exampleRun } = await runThroughCache(
  "example-registry",
  example.url,
  exampleContent,
  true,
);

describe("OCI conformance (read-only): the cache in front of docker-registry", () => {
  registerConformanceTests(distributionRun, test);
});

describe("OCI conformance (read-only): the cache in front of the example registry", () => {
  registerConformanceTests(exampleRun, test);
});

/** The multi-platform image in the example registry: the subject of two referrers. */
const [imageDigest = ""] = exampleContent.referrers;

describe("the cache's referrers answers", () => {
  test("for an upstream without the API (distribution 2.8) are a 404, and clients find referrers through the referrers tag", async () => {
    const [subject = ""] = distributionContent.referrersOf.keys();
    const answer = await sendRequest(
      distributionCache.url,
      `/v2/${repository}/referrers/${subject}`,
      { ca: authority.certificatePem },
    );
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body.toString("utf8")).errors[0].code).toBe("UNSUPPORTED");
    const throughCache = await clientOf(distributionCache.url).listReferrers(repository, subject);
    expect(throughCache).toEqual(distributionContent.referrersOf.get(subject));
  });

  test("equal the upstream's, whole and filtered by artifactType (OCI-Filters-Applied)", async () => {
    const cache = clientOf(exampleCache.url);
    const upstream = clientOf(example.url);
    for (const subject of exampleContent.referrers) {
      const listed = await cache.listReferrers(repository, subject);
      expect(listed).toEqual(await upstream.listReferrers(repository, subject));
      expect(listed).toEqual(exampleContent.referrersOf.get(subject));
    }
    const filtered = await sendRequest(
      exampleCache.url,
      `/v2/${repository}/referrers/${imageDigest}?artifactType=${encodeURIComponent(artifactTypes.sbom)}`,
      { ca: authority.certificatePem },
    );
    expect(filtered.status).toBe(200);
    expect(filtered.headers["oci-filters-applied"]).toBe("artifactType");
    const manifests = JSON.parse(filtered.body.toString("utf8")).manifests;
    expect(manifests.map((entry: { artifactType: string }) => entry.artifactType)).toEqual([
      artifactTypes.sbom,
    ]);
  });
});

describe("the cache with its upstream stopped (after the conformance runs pulled everything)", () => {
  test("serves the sha512 manifests and blobs byte for byte from its store, and the last referrers answers", async () => {
    const referrersBefore = await clientOf(exampleCache.url).listReferrers(repository, imageDigest);
    await example.close();
    const cache = clientOf(exampleCache.url);
    const sha512 = [...exampleContent.bytes].filter(([digest]) => digest.startsWith("sha512:"));
    expect(sha512.length).toBeGreaterThanOrEqual(6);
    for (const [digest, bytes] of sha512) {
      if (exampleContent.manifests.includes(digest)) {
        const manifest = await cache.getManifest(repository, digest);
        expect(Buffer.from(manifest.bytes).equals(bytes)).toBe(true);
      } else {
        const download = await cache.getBlob(repository, digest);
        const chunks: Buffer[] = [];
        for await (const chunk of download.stream) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
      }
    }
    expect(await cache.listReferrers(repository, imageDigest)).toEqual(referrersBefore);
  });
});
