// Each image's SBOM: an SPDX document of what is inside, pushed next to the image as an OCI
// artifact whose subject is the image index. Found two ways, because Debian's docker-registry
// (distribution 2.8) predates the referrers API: there through the fallback tag
// `sha256-<index hex>`, which the builder's client keeps; on a registry with the API (this
// repository's example registry, as ghcr.io, Harbor and distribution 3 have it) through
// GET /v2/<name>/referrers/<digest>.
import { createRegistryClient } from "@regmirror/oci-distribution";
import { createExampleRegistry, type ExampleRegistry } from "@regmirror/oci-distribution/testing";
import {
  skopeoInspectRaw,
  startUpstreamRegistry,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ImageName, imageNames, pushImages, spdxMediaType } from "../src/index.js";
import { imagesUnderTest, imageUnderTest, json } from "./images-under-test.js";

interface SpdxDocument {
  spdxVersion: string;
  documentDescribes: string[];
  packages: {
    SPDXID: string;
    name: string;
    versionInfo: string;
    checksums?: { algorithm: string; checksumValue: string }[];
    externalRefs?: { referenceType: string; referenceLocator: string }[];
  }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

interface Referrers {
  manifests: { digest: string; artifactType?: string }[];
}

const expectedNpmPackages: Record<ImageName, string[]> = {
  "regmirror-cache": ["pino", "prom-client", "undici", "zod", "@regmirror/oci-distribution"],
  "regmirror-operator": ["@kubernetes/client-node", "pino", "yaml", "@regmirror/node-trust"],
};

function purls(document: SpdxDocument): string[] {
  return document.packages.flatMap((entry) =>
    (entry.externalRefs ?? [])
      .filter((ref) => ref.referenceType === "purl")
      .map((ref) => ref.referenceLocator),
  );
}

describe("the SBOM", () => {
  it.each(imageNames)(
    "%s: SPDX 2.3 naming the bundled npm packages, Node and every platform's Debian packages",
    async (name) => {
      const { inputs } = await imagesUnderTest();
      const image = await imageUnderTest(name);
      const document = json<SpdxDocument>(image.sbom.document.bytes);
      expect(document.spdxVersion).toBe("SPDX-2.3");
      const locators = purls(document);
      for (const packageName of expectedNpmPackages[name]) {
        expect(
          locators.some((purl) => purl.startsWith(`pkg:npm/${packageName.replace("@", "%40")}@`)),
          packageName,
        ).toBe(true);
      }
      for (const platform of inputs) {
        expect(locators).toContain(`pkg:npm/${platform.nodePackage}@${platform.nodeVersion}`);
        for (const deb of platform.debianPackages) {
          const entry = document.packages.find(
            (candidate) =>
              candidate.name === deb.name && candidate.checksums?.[0]?.checksumValue === deb.sha256,
          );
          expect(entry?.versionInfo, `${deb.name} ${deb.architecture}`).toBe(deb.version);
        }
      }
      // The image contains every other package.
      const [imageId] = document.documentDescribes;
      const contained = document.relationships
        .filter(
          (relationship) =>
            relationship.spdxElementId === imageId && relationship.relationshipType === "CONTAINS",
        )
        .map((relationship) => relationship.relatedSpdxElement);
      expect(contained.sort()).toEqual(
        document.packages
          .map((entry) => entry.SPDXID)
          .filter((id) => id !== imageId)
          .sort(),
      );
    },
  );

  it.each(imageNames)(
    "%s: an OCI artifact of type application/spdx+json whose subject is the image index",
    async (name) => {
      const image = await imageUnderTest(name);
      const manifest = json<{
        artifactType: string;
        subject: { digest: string };
        layers: { digest: string }[];
      }>(image.sbom.manifest.bytes);
      expect(manifest.artifactType).toBe(spdxMediaType);
      expect(manifest.subject.digest).toBe(image.index.digest);
      expect(manifest.layers.map((layer) => layer.digest)).toEqual([image.sbom.document.digest]);
    },
  );
});

describe("pushed with the builder's client", () => {
  const repository = "regmirror/regmirror-operator";
  let distribution: UpstreamRegistry;
  let example: ExampleRegistry;
  beforeAll(async () => {
    const image = await imageUnderTest("regmirror-operator");
    [distribution, example] = await Promise.all([startUpstreamRegistry(), createExampleRegistry()]);
    await pushImages([image], { repository: `${distribution.host}/regmirror`, insecure: true });
    await pushImages([image], { repository: `${example.host}/regmirror`, insecure: true });
  });
  afterAll(async () => {
    await distribution?.stop();
    await example?.close();
  });

  it("docker-registry 2.8 holds the index byte for byte under its tag", async () => {
    const image = await imageUnderTest("regmirror-operator");
    const raw = await skopeoInspectRaw(`docker://${distribution.host}/${repository}:${image.tag}`, {
      tlsVerify: false,
    });
    expect(raw.equals(image.index.bytes)).toBe(true);
  });

  it("docker-registry 2.8 has no referrers API; its fallback tag lists the SBOM, where a client finds it", async () => {
    const image = await imageUnderTest("regmirror-operator");
    const api = await fetch(`${distribution.url}/v2/${repository}/referrers/${image.index.digest}`);
    expect(api.status).toBe(404);
    const tag = image.index.digest.replace(":", "-");
    const fallback = await fetch(`${distribution.url}/v2/${repository}/manifests/${tag}`, {
      headers: { accept: "application/vnd.oci.image.index.v1+json" },
    });
    expect(fallback.status).toBe(200);
    expect(((await fallback.json()) as Referrers).manifests).toContainEqual(
      expect.objectContaining({ digest: image.sbom.manifest.digest, artifactType: spdxMediaType }),
    );
    const client = createRegistryClient({ registry: distribution.url });
    try {
      const found = await client.listReferrers(repository, image.index.digest, {
        artifactType: spdxMediaType,
      });
      expect(found.map((descriptor) => descriptor.digest)).toEqual([image.sbom.manifest.digest]);
    } finally {
      await client.close();
    }
  });

  it("a registry with the referrers API lists the SBOM as a referrer of the image index", async () => {
    const image = await imageUnderTest("regmirror-operator");
    const answer = await fetch(
      `${example.url}/v2/${repository}/referrers/${image.index.digest}?artifactType=${encodeURIComponent(spdxMediaType)}`,
    );
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as Referrers).manifests).toEqual([
      expect.objectContaining({ digest: image.sbom.manifest.digest, artifactType: spdxMediaType }),
    ]);
  });
});
