// What a containerd test checks after a pull: the image listed with its digest, and unpacked.
import { expect } from "vitest";
import type { Containerd, TestImage } from "../src/index.js";

/** `reference` is listed with the image's digest and unpacked: one committed snapshot a layer. */
export async function expectPulledAndUnpacked(
  containerd: Containerd,
  reference: string,
  image: TestImage,
  layerCount: number,
): Promise<void> {
  expect(await containerd.listImages()).toContainEqual({
    name: reference,
    mediaType: image.mediaType,
    digest: image.digest,
  });
  const snapshots = await containerd.ctr([
    "snapshots",
    "--snapshotter",
    containerd.snapshotter,
    "ls",
  ]);
  expect(snapshots.match(/\bCommitted\b/g)?.length).toBe(layerCount);
}
