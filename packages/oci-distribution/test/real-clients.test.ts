import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { computeDigest } from "@regmirror/core";
import {
  buildTestImage,
  type Containerd,
  hostPlatform,
  makeTempDirectory,
  removeTempDirectory,
  skopeoCopy,
  skopeoPull,
  startContainerd,
  startUpstreamRegistry,
  stopAll,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createExampleRegistry, type ExampleRegistry } from "../src/testing/index.js";

const plainHttp = { tlsVerify: false };

/** Every blob file skopeo wrote into a `dir:` copy, checked against the built image's bytes. */
async function expectSameBlobs(directory: string, blobs: Map<string, Buffer>): Promise<number> {
  let compared = 0;
  for (const name of await readdir(directory)) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const bytes = await readFile(join(directory, name));
    expect(computeDigest(bytes)).toBe(`sha256:${name}`);
    expect(blobs.get(`sha256:${name}`)?.equals(bytes)).toBe(true);
    compared += 1;
  }
  return compared;
}

describe("real clients against the example registry (filesystem storage)", () => {
  let registry: ExampleRegistry;
  let rootDirectory: string;
  let upstream: UpstreamRegistry | undefined;
  let containerd: Containerd | undefined;

  beforeAll(async () => {
    rootDirectory = makeTempDirectory("oci-example-registry-");
    registry = await createExampleRegistry({ rootDirectory });
  });
  afterAll(() => stopAll(containerd, upstream, registry, rootDirectory));

  it("skopeo pushes a multi-platform OCI image and pulls it back byte for byte", async () => {
    const image = await buildTestImage({
      seed: "oci-distribution-multi",
      layers: [2048, 70_000],
      platforms: [hostPlatform(), { os: "linux", architecture: "riscv64" }],
    });
    const reference = `${registry.host}/library/multi:v1`;
    await skopeoCopy(image.skopeoSource, `docker://${reference}`, { destination: plainHttp });
    const pulled = await skopeoPull(reference, plainHttp);
    expect(pulled.digest).toBe(image.digest);
    expect(pulled.manifestBytes.equals(image.bytes)).toBe(true);
    expect(await expectSameBlobs(pulled.directory, image.blobs)).toBeGreaterThanOrEqual(6);
    await removeTempDirectory(pulled.directory);
  });

  it("skopeo pushes a Docker schema 2 image and pulls it back byte for byte", async () => {
    const image = await buildTestImage({
      seed: "oci-distribution-docker",
      format: "docker",
      layers: [4096],
    });
    const reference = `${registry.host}/team/docker-format:v1`;
    await skopeoCopy(image.skopeoSource, `docker://${reference}`, { destination: plainHttp });
    const pulled = await skopeoPull(reference, plainHttp);
    expect(pulled.digest).toBe(image.digest);
    expect(pulled.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(await expectSameBlobs(pulled.directory, image.blobs)).toBe(2);
    await removeTempDirectory(pulled.directory);
  });

  it("skopeo copies between the example registry and docker-registry in both directions", async () => {
    upstream = await startUpstreamRegistry({ auth: "none" });
    const image = await buildTestImage({
      seed: "oci-distribution-roundtrip",
      layers: [1000, 3000],
    });
    const ours = `${registry.host}/round/trip:v1`;
    const theirs = `${upstream.host}/round/trip:v1`;
    await skopeoCopy(image.skopeoSource, `docker://${theirs}`, { destination: plainHttp });
    await skopeoCopy(`docker://${theirs}`, `docker://${ours}`, {
      source: plainHttp,
      destination: plainHttp,
    });
    await skopeoCopy(`docker://${ours}`, `docker://${upstream.host}/round/back:v1`, {
      source: plainHttp,
      destination: plainHttp,
    });
    const back = await skopeoPull(`${upstream.host}/round/back:v1`, plainHttp);
    expect(back.digest).toBe(image.digest);
    await removeTempDirectory(back.directory);
  });

  it("containerd pulls and unpacks an image from it", async () => {
    containerd = await startContainerd();
    const image = await buildTestImage({
      seed: "oci-distribution-containerd",
      layers: [5000, 20_000],
    });
    const reference = `${registry.host}/team/containerd:v1`;
    await skopeoCopy(image.skopeoSource, `docker://${reference}`, { destination: plainHttp });
    await containerd.pull(reference, { plainHttp: true });
    const images = await containerd.listImages();
    expect(images).toContainEqual(
      expect.objectContaining({ name: reference, digest: image.digest }),
    );
  });
});
