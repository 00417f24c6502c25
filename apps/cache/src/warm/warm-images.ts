/**
 * Prefetches images into the cache through the pull-through storage itself — the same code
 * path a client's pull takes, so the result is exactly what a later pull finds: the tag's
 * manifest, every manifest of an index (all platforms), and every config and layer blob.
 */
import { readableFromReader } from "@regmirror/blob-store";
import {
  blobDescriptorsOf,
  childManifestsOf,
  type Descriptor,
  parseManifest,
  parseReference,
  type RegistryStorage,
} from "@regmirror/oci-distribution";
import { hostPathSegment } from "../pull-through/index.js";

export interface WarmProgress {
  image: string;
  /** Blobs (configs and layers) known so far, and done. */
  blobsTotal: number;
  blobsDone: number;
  bytesTotal: number;
  bytesDone: number;
  /** Set when a blob finished (for line-by-line output); alreadyCached: nothing was downloaded. */
  finishedBlob?: { digest: string; size: number; alreadyCached: boolean };
}

export interface WarmResult {
  image: string;
  digest: string;
  manifests: number;
  blobs: number;
  bytes: number;
  /** Blobs that were not in the store, and their bytes. */
  downloadedBlobs: number;
  downloadedBytes: number;
}

async function drain(stream: NodeJS.ReadableStream, onBytes: (bytes: number) => void) {
  for await (const chunk of stream) onBytes((chunk as Uint8Array).byteLength);
}

export async function warmImage(options: {
  storage: RegistryStorage;
  image: string;
  signal: AbortSignal;
  onProgress?: (progress: WarmProgress) => void;
  /**
   * True when the store holds the blob (its TTL is refreshed, as a pull would): it is then not
   * read again. Absent: every blob is read through the storage.
   */
  touchIfStored?: (digest: string) => Promise<boolean>;
}): Promise<WarmResult> {
  const { storage, image, signal } = options;
  const reference = parseReference(image);
  const repositoryPath = `${hostPathSegment(reference.registry)}/${reference.repository}`;
  const context = { signal };
  const progress: WarmProgress = {
    image,
    blobsTotal: 0,
    blobsDone: 0,
    bytesTotal: 0,
    bytesDone: 0,
  };
  const report = () => options.onProgress?.({ ...progress });

  const top = await storage.getManifest(
    repositoryPath,
    reference.digest ?? reference.tag ?? "latest",
    context,
  );
  // The caller names the image in front of these messages.
  if (top === undefined) throw new Error("no such manifest (the tag or digest is not upstream)");
  const manifests = [top];
  const blobs = new Map<string, Descriptor>();
  for (let index = 0; index < manifests.length; index += 1) {
    const manifest = manifests[index];
    if (manifest === undefined) break;
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    for (const child of childManifestsOf(parsed)) {
      const fetched = await storage.getManifest(repositoryPath, child.digest, context);
      if (fetched === undefined) throw new Error(`manifest ${child.digest} is missing upstream`);
      manifests.push(fetched);
    }
    for (const blob of blobDescriptorsOf(parsed)) {
      if (blobs.has(blob.digest)) continue;
      blobs.set(blob.digest, blob);
      progress.blobsTotal += 1;
      progress.bytesTotal += blob.size;
    }
  }
  report();

  let downloadedBlobs = 0;
  let downloadedBytes = 0;
  for (const blob of blobs.values()) {
    const alreadyCached = (await options.touchIfStored?.(blob.digest)) === true;
    if (alreadyCached) {
      progress.bytesDone += blob.size;
    } else {
      const opened = await storage.openBlob(repositoryPath, blob.digest, undefined, context);
      if (opened === undefined) throw new Error(`blob ${blob.digest} is missing upstream`);
      const body = "stream" in opened ? opened.stream : readableFromReader(opened.reader);
      await drain(body, (bytes) => {
        progress.bytesDone += bytes;
        report();
      });
      downloadedBlobs += 1;
      downloadedBytes += blob.size;
    }
    progress.blobsDone += 1;
    progress.finishedBlob = { digest: blob.digest, size: blob.size, alreadyCached };
    report();
    delete progress.finishedBlob;
  }
  return {
    image,
    digest: top.digest,
    manifests: manifests.length,
    blobs: blobs.size,
    bytes: progress.bytesTotal,
    downloadedBlobs,
    downloadedBytes,
  };
}
