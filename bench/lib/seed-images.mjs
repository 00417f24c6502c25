// Makes the bench content (a large image and many small blobs), pushes it to the upstream
// registry over the distribution API, and lays the same bytes out as static files for nginx.
import { createHash, randomFillSync } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, mkdir, open, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ociConfig, ociLayer, ociManifest } from "./media-types.mjs";
import { request } from "./undici.mjs";

/** Writes `size` random bytes to `directory/<hex>`; random so no layer compresses or dedupes. */
async function writeRandomBlob(directory, size) {
  const chunk = Buffer.allocUnsafe(Math.min(size, 4 * 1024 * 1024));
  const hash = createHash("sha256");
  const temporaryPath = join(directory, `incoming-${process.pid}-${Math.random()}`);
  const file = await open(temporaryPath, "w");
  try {
    for (let written = 0; written < size; ) {
      const length = Math.min(chunk.length, size - written);
      const part = chunk.subarray(0, length);
      randomFillSync(part);
      hash.update(part);
      await file.write(part);
      written += length;
    }
  } finally {
    await file.close();
  }
  const hex = hash.digest("hex");
  const path = join(directory, hex);
  await rename(temporaryPath, path);
  return { digest: `sha256:${hex}`, size, path };
}

async function writeBytesBlob(directory, bytes) {
  const hex = createHash("sha256").update(bytes).digest("hex");
  const path = join(directory, hex);
  await writeFile(path, bytes);
  return { digest: `sha256:${hex}`, size: bytes.length, path, bytes };
}

/** Builds an OCI image with layers of the given sizes; returns descriptors and files. */
export async function makeImage(blobDirectory, layerSizes) {
  await mkdir(blobDirectory, { recursive: true });
  const layers = [];
  for (const size of layerSizes) layers.push(await writeRandomBlob(blobDirectory, size));
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: layers.map((layer) => layer.digest) },
    }),
  );
  const config = await writeBytesBlob(blobDirectory, configBytes);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifest,
      config: { mediaType: ociConfig, digest: config.digest, size: config.size },
      layers: layers.map((layer) => ({
        mediaType: ociLayer,
        digest: layer.digest,
        size: layer.size,
      })),
    }),
  );
  const manifest = await writeBytesBlob(blobDirectory, manifestBytes);
  const totalBytes =
    manifest.size + config.size + layers.reduce((sum, layer) => sum + layer.size, 0);
  return { manifest, config, layers, totalBytes };
}

/** Many small random blobs (not referenced by a manifest: clients fetch them by digest). */
export async function makeSmallBlobs(blobDirectory, count, size) {
  await mkdir(blobDirectory, { recursive: true });
  const blobs = [];
  for (let index = 0; index < count; index += 1) {
    blobs.push(await writeRandomBlob(blobDirectory, size));
  }
  return blobs;
}

async function expectStatus(response, expected, what) {
  if (response.statusCode !== expected) {
    const text = await response.body.text();
    throw new Error(`${what}: HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
  }
  await response.body.dump();
}

/** Monolithic upload: POST to open an upload, PUT the bytes with the digest. */
export async function pushBlob(registryUrl, repository, blob) {
  const opened = await request(`${registryUrl}/v2/${repository}/blobs/uploads/`, {
    method: "POST",
  });
  await expectStatus(opened, 202, `open upload in ${repository}`);
  const location = new URL(opened.headers.location, registryUrl);
  location.searchParams.set("digest", blob.digest);
  const put = await request(location, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream", "content-length": String(blob.size) },
    body: blob.bytes ?? createReadStream(blob.path),
  });
  await expectStatus(put, 201, `upload ${blob.digest} to ${repository}`);
}

export async function pushImage(registryUrl, repository, tag, image) {
  for (const blob of [image.config, ...image.layers]) await pushBlob(registryUrl, repository, blob);
  const put = await request(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": ociManifest },
    body: image.manifest.bytes,
  });
  await expectStatus(put, 201, `put manifest ${repository}:${tag}`);
}

export async function pushBlobs(registryUrl, repository, blobs, concurrency = 16) {
  let next = 0;
  const worker = async () => {
    while (next < blobs.length) {
      const blob = blobs[next];
      next += 1;
      await pushBlob(registryUrl, repository, blob);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * The same content under the distribution URL layout as plain files:
 * ROOT/v2/REPO/blobs/DIGEST and ROOT/v2/REPO/manifests/{TAG,DIGEST}. Hard links, no copies.
 */
export async function writeStaticLayout(root, repository, { image, tag, blobs = [] }) {
  const blobDirectory = join(root, "v2", repository, "blobs");
  await mkdir(blobDirectory, { recursive: true });
  const all = image ? [image.config, ...image.layers, ...blobs] : blobs;
  for (const blob of all) await link(blob.path, join(blobDirectory, blob.digest));
  if (image) {
    const manifestDirectory = join(root, "v2", repository, "manifests");
    await mkdir(manifestDirectory, { recursive: true });
    await link(image.manifest.path, join(manifestDirectory, tag));
    await link(image.manifest.path, join(manifestDirectory, image.manifest.digest));
  }
}
