// The images the global setup built (build-once.ts), and ways to look inside them.
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { inject } from "vitest";
import {
  type BuildResult,
  type BuiltImage,
  type ImageName,
  type ImagePlatform,
  loadBuiltImages,
  readTar,
} from "../src/index.js";
import { blobPath } from "../src/oci/oci-layout.js";
import type { LayerEntry } from "../src/tar/layer-entry.js";

let loaded: Promise<BuildResult> | undefined;

export function imagesUnderTest(): Promise<BuildResult> {
  loaded ??= loadBuiltImages(inject("imagesDirectory"));
  return loaded;
}

export async function imageUnderTest(name: ImageName): Promise<BuiltImage> {
  const image = (await imagesUnderTest()).images.find((candidate) => candidate.name === name);
  if (image === undefined) throw new Error(`the build made no ${name}`);
  return image;
}

export function platformOf(image: BuiltImage, platform: ImagePlatform) {
  const built = image.platforms.find((candidate) => candidate.platform === platform);
  if (built === undefined) throw new Error(`${image.name} has no ${platform}`);
  return built;
}

/** Every entry of every layer of one platform's image, top layer last. */
export async function filesOf(image: BuiltImage, platform: ImagePlatform): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  for (const layer of platformOf(image, platform).layers) {
    const blob = await readFile(blobPath(image.layoutDirectory, layer.digest));
    entries.push(...readTar(gunzipSync(blob), layer.digest));
  }
  return entries;
}

export function json<T = Record<string, unknown>>(bytes: Buffer): T {
  return JSON.parse(bytes.toString("utf8")) as T;
}
