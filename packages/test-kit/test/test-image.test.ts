import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildTestImage, mediaTypes } from "../src/index.js";

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Names and sizes of the regular files in a ustar archive. */
function tarEntries(tar: Buffer): { name: string; size: number }[] {
  const entries: { name: string; size: number }[] = [];
  let offset = 0;
  while (offset + 512 <= tar.length && tar[offset] !== 0) {
    const name = tar
      .subarray(offset, offset + 100)
      .toString("utf8")
      .replace(/\0.*$/s, "");
    const size = Number.parseInt(tar.subarray(offset + 124, offset + 136).toString("ascii"), 8);
    entries.push({ name, size });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

describe("buildTestImage", () => {
  it("gives the same bytes and digests for the same seed, and different ones for another seed", async () => {
    const first = await buildTestImage({ seed: "same", layers: [100, 2000] });
    const second = await buildTestImage({ seed: "same", layers: [100, 2000] });
    const other = await buildTestImage({ seed: "other", layers: [100, 2000] });
    expect(second.digest).toBe(first.digest);
    expect([...second.blobs.keys()]).toEqual([...first.blobs.keys()]);
    expect(other.digest).not.toBe(first.digest);
    expect(second.layoutDirectory).not.toBe(first.layoutDirectory);
  });

  it("makes each layer a gzip tar holding one file of the requested size, listed in the config", async () => {
    const image = await buildTestImage({ seed: "layers", layers: [0, 700, 4096] });
    const [manifest] = image.manifests;
    if (manifest === undefined) throw new Error("no manifest");
    const config = JSON.parse(image.blobs.get(manifest.configDigest)?.toString("utf8") ?? "{}");
    expect(manifest.layerDigests).toHaveLength(3);
    manifest.layerDigests.forEach((digest, index) => {
      const blob = image.blobs.get(digest) ?? Buffer.alloc(0);
      expect(sha256(blob)).toBe(digest);
      const tar = gunzipSync(blob);
      expect(tarEntries(tar)).toEqual([
        { name: `regmirror-test-layer-${index}.bin`, size: [0, 700, 4096][index] },
      ]);
      expect(config.rootfs.diff_ids[index]).toBe(sha256(tar));
    });
    const parsed = JSON.parse(image.bytes.toString("utf8"));
    expect(parsed.mediaType).toBe(mediaTypes.ociManifest);
    expect(parsed.layers.map((layer: { size: number }) => layer.size)).toEqual(
      manifest.layerDigests.map((digest) => image.blobs.get(digest)?.length),
    );
  });

  it("writes an OCI image layout whose index.json tags the top manifest", async () => {
    const image = await buildTestImage({ seed: "layout", tag: "v2" });
    const index = JSON.parse(readFileSync(join(image.layoutDirectory, "index.json"), "utf8"));
    expect(index.manifests).toEqual([
      {
        mediaType: image.mediaType,
        digest: image.digest,
        size: image.size,
        annotations: { "org.opencontainers.image.ref.name": "v2" },
      },
    ]);
    for (const [digest, bytes] of image.blobs) {
      const file = readFileSync(join(image.layoutDirectory, "blobs", "sha256", digest.slice(7)));
      expect(file.equals(bytes)).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(image.layoutDirectory, "oci-layout"), "utf8"))).toEqual({
      imageLayoutVersion: "1.0.0",
    });
  });

  it("builds Docker schema 2 manifests and a manifest list with one entry per platform", async () => {
    const image = await buildTestImage({
      seed: "docker",
      format: "docker",
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm", variant: "v7" },
      ],
    });
    const list = JSON.parse(image.bytes.toString("utf8"));
    expect(list.mediaType).toBe(mediaTypes.dockerManifestList);
    expect(list.manifests.map((entry: { platform: unknown }) => entry.platform)).toEqual([
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm", variant: "v7" },
    ]);
    for (const manifest of image.manifests) {
      const parsed = JSON.parse(manifest.bytes.toString("utf8"));
      expect(parsed.mediaType).toBe(mediaTypes.dockerManifest);
      expect(parsed.config.mediaType).toBe(mediaTypes.dockerConfig);
      expect(parsed.layers[0].mediaType).toBe(mediaTypes.dockerLayerGzip);
    }
    expect(image.manifests[0]?.layerDigests).not.toEqual(image.manifests[1]?.layerDigests);
  });

  it("rejects a negative layer size and an empty platform list", async () => {
    await expect(buildTestImage({ seed: "bad", layers: [-1] })).rejects.toMatchObject({
      code: "BAD_INPUT",
    });
    await expect(buildTestImage({ seed: "bad", platforms: [] })).rejects.toMatchObject({
      code: "BAD_INPUT",
    });
  });
});
