import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTestImage,
  pushTestImage,
  registryAccess,
  skopeoInspect,
  skopeoInspectRaw,
  skopeoPull,
  startUpstreamRegistry,
  type UpstreamRegistry,
} from "../src/index.js";

const twoPlatforms = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64", variant: "v8" },
];

describe("anonymous upstream registry", () => {
  let registry: UpstreamRegistry;
  beforeAll(async () => {
    registry = await startUpstreamRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("answers /v2/ on its loopback URL", async () => {
    expect(registry.url).toBe(`http://${registry.host}`);
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(200);
  });

  it.each(["oci", "docker"] as const)(
    "round-trips a single-platform %s image with equal digests",
    async (format) => {
      const image = await buildTestImage({ seed: `single-${format}`, layers: [512, 3000], format });
      const reference = await pushTestImage(image, registry, `single/${format}`);
      const pulled = await skopeoPull(reference, registryAccess(registry));
      expect(pulled.digest).toBe(image.digest);
      expect(pulled.mediaType).toBe(image.mediaType);
      expect(pulled.manifestBytes.equals(image.bytes)).toBe(true);
      expect(await skopeoInspect(`docker://${reference}`, registryAccess(registry))).toMatchObject({
        digest: image.digest,
        mediaType: image.mediaType,
      });
    },
  );

  it.each(["oci", "docker"] as const)(
    "round-trips a multi-platform %s index with every platform",
    async (format) => {
      const image = await buildTestImage({
        seed: `multi-${format}`,
        layers: [256],
        format,
        platforms: twoPlatforms,
      });
      expect(image.mediaType).toBe(
        format === "oci"
          ? "application/vnd.oci.image.index.v1+json"
          : "application/vnd.docker.distribution.manifest.list.v2+json",
      );
      const reference = await pushTestImage(image, registry, `multi/${format}`, { tag: "v1" });
      expect(reference).toBe(`${registry.host}/multi/${format}:v1`);
      const pulled = await skopeoPull(reference, registryAccess(registry));
      expect(pulled.digest).toBe(image.digest);
      for (const manifest of image.manifests) {
        const served = await skopeoInspectRaw(
          `docker://${registry.host}/multi/${format}@${manifest.digest}`,
          registryAccess(registry),
        );
        expect(served.equals(manifest.bytes)).toBe(true);
      }
    },
  );
});

describe("upstream registry over TLS", () => {
  let registry: UpstreamRegistry;
  beforeAll(async () => {
    registry = await startUpstreamRegistry({ tls: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("serves https with a certificate from the CA it returns", async () => {
    expect(registry.url).toBe(`https://${registry.host}`);
    expect(registry.ca).toContain("BEGIN CERTIFICATE");
    const image = await buildTestImage({ seed: "tls", layers: [100] });
    const reference = await pushTestImage(image, registry, "secure/app");
    const pulled = await skopeoPull(reference, registryAccess(registry));
    expect(pulled.digest).toBe(image.digest);
  });

  it("is refused by a client that does not trust its CA", async () => {
    await expect(
      skopeoInspectRaw(`docker://${registry.host}/secure/app:latest`, { tlsVerify: true }),
    ).rejects.toThrow(/certificate/);
  });
});
