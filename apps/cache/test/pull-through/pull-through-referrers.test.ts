// The referrers API through the pull-through cache (docs/adr/0018-referrers-through-the-cache.md):
// passed through from an upstream that has it (the example registry, behind a fault proxy that
// makes it unavailable on demand), remembered for when upstream fails, and a 404 for an upstream
// without it (the real docker-registry, distribution 2.8).
import { createRegistryClient } from "@regmirror/oci-distribution";
import { createExampleRegistry, type ExampleRegistry } from "@regmirror/oci-distribution/testing";
import {
  type FaultProxy,
  startFaultProxy,
  startUpstreamRegistry,
  stopAll,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifactTypes, ContentWriter } from "../conformance/read-only-content.js";
import {
  type CacheUnderTest,
  fetchAll,
  plainUpstream,
  startCache,
} from "./pull-through-harness.js";

const repository = "team/signed";

function errorCode(body: Buffer): string | undefined {
  return (JSON.parse(body.toString("utf8")) as { errors: { code: string }[] }).errors[0]?.code;
}

function manifestsOf(body: Buffer): { digest: string; artifactType?: string }[] {
  return (JSON.parse(body.toString("utf8")) as { manifests: { digest: string }[] }).manifests;
}

describe("referrers through the pull-through cache", () => {
  let example: ExampleRegistry;
  let proxy: FaultProxy;
  let distribution: UpstreamRegistry;
  let cache: CacheUnderTest;
  let writer: ContentWriter;
  let exampleClient: ReturnType<typeof createRegistryClient>;
  let subject: { mediaType: string; digest: string; size: number };
  let distributionSubject: string;

  beforeAll(async () => {
    example = await createExampleRegistry();
    proxy = await startFaultProxy({ target: example.url });
    distribution = await startUpstreamRegistry();
    cache = await startCache({
      upstreams: [
        plainUpstream("with-api", ["with-api.test"], [proxy.url]),
        plainUpstream("distribution", ["distribution.test"], [distribution.url]),
      ],
      defaultUpstream: "with-api",
      upstreamClient: { retry: { retries: 0 } },
    });
    exampleClient = createRegistryClient({ registry: example.url });
    writer = new ContentWriter(exampleClient, repository);
    subject = await writer.image("referrers subject", "sha256");
    await writer.artifact(subject, artifactTypes.sbom, "first sbom");

    const distributionClient = createRegistryClient({ registry: distribution.url });
    const distributionWriter = new ContentWriter(distributionClient, repository);
    const image = await distributionWriter.image("distribution subject", "sha256");
    distributionSubject = image.digest;
    await distributionWriter.artifact(image, artifactTypes.signature, "distribution signature");
    await distributionClient.close();
  });

  afterAll(() => stopAll(cache, exampleClient, proxy, example, distribution));

  it("asks upstream each time: a referrer pushed after the first answer is listed next time", async () => {
    const first = await fetchAll(`${cache.url}/v2/${repository}/referrers/${subject.digest}`);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("application/vnd.oci.image.index.v1+json");
    expect(manifestsOf(first.body)).toHaveLength(1);

    const added = await writer.artifact(subject, artifactTypes.signature, "later signature");
    const second = await fetchAll(`${cache.url}/v2/${repository}/referrers/${subject.digest}`);
    expect(manifestsOf(second.body).map((entry) => entry.digest)).toContain(added.digest);
    expect(manifestsOf(second.body)).toEqual(writer.content.referrersOf.get(subject.digest));
  });

  it("serves the last answer while upstream fails, and a clear error for a subject it never listed", async () => {
    const before = await fetchAll(`${cache.url}/v2/${repository}/referrers/${subject.digest}`);
    proxy.setFault({ path: /\/referrers\//, status: 503 });
    try {
      const during = await fetchAll(
        `${cache.url}/v2/${repository}/referrers/${subject.digest}?artifactType=${encodeURIComponent(artifactTypes.sbom)}`,
      );
      expect(during.status).toBe(200);
      expect(during.headers.get("oci-filters-applied")).toBe("artifactType");
      expect(manifestsOf(during.body)).toEqual(
        manifestsOf(before.body).filter((entry) => entry.artifactType === artifactTypes.sbom),
      );

      const neverListed = `sha256:${"e".repeat(64)}`;
      const unknown = await fetchAll(`${cache.url}/v2/${repository}/referrers/${neverListed}`);
      expect(unknown.status).toBe(503);
      expect(errorCode(unknown.body)).toBe("UNAVAILABLE");
    } finally {
      proxy.setFault(undefined);
    }
  });

  it("answers 404 for an upstream without the API, also while that upstream is down", async () => {
    const path = `/v2/distribution.test/${repository}/referrers/${distributionSubject}`;
    const answer = await fetchAll(`${cache.url}${path}`);
    expect(answer.status).toBe(404);
    expect(errorCode(answer.body)).toBe("UNSUPPORTED");

    // Clients then read the referrers tag through the cache, as from any registry.
    const viaCache = createRegistryClient({ registry: `${cache.url}` });
    try {
      const listed = await viaCache.listReferrers(
        `distribution.test/${repository}`,
        distributionSubject,
      );
      expect(listed.map((entry) => entry.artifactType)).toEqual([artifactTypes.signature]);
    } finally {
      await viaCache.close();
    }

    await distribution.stop();
    const whileDown = await fetchAll(`${cache.url}${path}`);
    expect(whileDown.status).toBe(404);
    expect(errorCode(whileDown.body)).toBe("UNSUPPORTED");
  });

  it("refuses a malformed subject digest with DIGEST_INVALID", async () => {
    const answer = await fetchAll(`${cache.url}/v2/${repository}/referrers/sha256:not-hex`);
    expect(answer.status).toBe(400);
    expect(errorCode(answer.body)).toBe("DIGEST_INVALID");
  });
});
