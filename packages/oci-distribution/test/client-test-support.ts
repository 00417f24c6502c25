/**
 * What the client's test files share: pushing a test-kit image with the client, reading a whole
 * blob, catching an expected error, recording the requests the client sends.
 */

import type { TestImage } from "@regmirror/test-kit";
import type { Dispatcher } from "undici";
import type { RegistryClient } from "../src/client/registry-client.js";

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

/** The error `promise` rejects with; fails the test when it resolves. */
export async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

/** A dispatcher interceptor that appends "METHOD /path?query" of every request to `sent`. */
export function recordRequests(sent: string[]): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    sent.push(`${options.method} ${options.path}`);
    return dispatch(options, handler);
  };
}
