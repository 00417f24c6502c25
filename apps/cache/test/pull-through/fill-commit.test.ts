/**
 * A reader that follows a fill to the blob's end ends only once the blob is in the store, and a
 * commit that fails is that reader's error (what the warm endpoint relies on to count an image
 * as stored), while an HTTP client still gets every verified byte.
 */
import { readableFromReader } from "@regmirror/blob-store";
import { computeDigest } from "@regmirror/core";
import { buildTestImage, pushTestImage } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostPathSegment } from "../../src/pull-through/index.js";
import {
  type CacheUnderTest,
  fetchAll,
  type ProxiedCache,
  startCacheBeside,
  startProxiedCache,
} from "./pull-through-harness.js";

/** Reads a blob through the pull-through storage the way a warm does, to its end. */
async function readThroughStorage(
  cache: CacheUnderTest,
  repositoryPath: string,
  digest: string,
): Promise<Buffer> {
  const context = { signal: new AbortController().signal };
  const opened = await cache.storage.openBlob(repositoryPath, digest, undefined, context);
  if (opened === undefined) throw new Error(`the cache has no blob ${digest}`);
  const body = "stream" in opened ? opened.stream : readableFromReader(opened.reader);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

describe("a fill's readers end after its commit", () => {
  let proxied: ProxiedCache;
  /** A store whose size cap is smaller than the image's layer: it refuses to keep it. */
  let cappedCache: CacheUnderTest;
  let repositoryPath = "";
  const layer: { digest: string; bytes: Buffer } = { digest: "", bytes: Buffer.alloc(0) };

  beforeAll(async () => {
    proxied = await startProxiedCache();
    cappedCache = await startCacheBeside(proxied, { storeMaxBytes: 100_000 });
    const image = await buildTestImage({ seed: "fill-commit", layers: [400_000] });
    await pushTestImage(image, proxied.upstream, "team/commit", { tag: "v1" });
    repositoryPath = `${hostPathSegment(proxied.upstream.host)}/team/commit`;
    layer.digest = image.manifests[0]?.layerDigests[0] ?? "";
    layer.bytes = image.blobs.get(layer.digest) ?? Buffer.alloc(0);
  });

  afterAll(async () => {
    await cappedCache?.stop();
    await proxied?.stop();
  });

  it("every reader that read a cold blob to its end finds it in the store at once", async () => {
    const { cache } = proxied;
    const [first, joined] = await Promise.all([
      readThroughStorage(cache, repositoryPath, layer.digest),
      readThroughStorage(cache, repositoryPath, layer.digest),
    ]);
    expect(computeDigest(first)).toBe(layer.digest);
    expect(computeDigest(joined)).toBe(layer.digest);
    // No waiting: the readers' end came after the commit.
    expect(await cache.blobStore.stat(layer.digest)).toEqual({
      digest: layer.digest,
      size: layer.bytes.byteLength,
    });
  });

  it("a store that refuses the blob is the reader's error, not a silent end", async () => {
    await expect(readThroughStorage(cappedCache, repositoryPath, layer.digest)).rejects.toThrow(
      /larger than the store's size cap/,
    );
    expect(await cappedCache.blobStore.stat(layer.digest)).toBeUndefined();
  });

  it("an HTTP client still gets every verified byte of a blob the store refuses", async () => {
    const fetched = await fetchAll(`${cappedCache.url}/v2/team/commit/blobs/${layer.digest}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.byteLength).toBe(layer.bytes.byteLength);
    expect(computeDigest(fetched.body)).toBe(layer.digest);
    expect(await cappedCache.blobStore.stat(layer.digest)).toBeUndefined();
  });
});
