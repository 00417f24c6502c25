/**
 * Test support (not exported from the package): pushing a test-kit image with the client, and
 * reading a whole blob. Kept beside the tests that use it.
 */

import type { TestImage } from "@regmirror/test-kit";
import type { RegistryClient } from "./registry-client.js";

/** Pushes every blob and manifest of `image` and tags the top-level manifest; returns its digest. */
export async function pushImageWithClient(
  client: RegistryClient,
  repository: string,
  image: TestImage,
  tag = image.tag,
): Promise<string> {
  for (const manifest of image.manifests) {
    for (const digest of [manifest.configDigest, ...manifest.layerDigests]) {
      const bytes = image.blobs.get(digest);
      if (!bytes) throw new Error(`test image lacks blob ${digest}`);
      await client.pushBlob(repository, bytes);
    }
    if (manifest.digest !== image.digest) {
      await client.putManifest(repository, manifest.digest, manifest.bytes);
    }
  }
  const { digest } = await client.putManifest(repository, tag, image.bytes);
  return digest;
}

export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
