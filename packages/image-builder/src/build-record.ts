// images.json in the output directory: what a build made (digests, sizes, inputs), so the images
// can be pushed or inspected later without building again (loadBuiltImages).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BuildResult, BuiltImage, BuiltPlatformImage } from "./build-images.js";
import type { ImageName } from "./image-definitions.js";
import type { Blob } from "./oci/image-documents.js";
import { blobPath } from "./oci/oci-layout.js";
import type { ImagePlatform } from "./platforms.js";
import { sbomArtifact } from "./sbom/sbom-artifact.js";
import { isoTime } from "./source-metadata.js";

export const buildRecordFileName = "images.json";

interface BuildRecord {
  source: BuildResult["source"];
  inputs: BuildResult["inputs"];
  images: {
    name: ImageName;
    reference: string;
    tag: string;
    indexDigest: string;
    archiveDigest: string;
    sbomManifestDigest: string;
    platforms: { platform: ImagePlatform; manifestDigest: string; compressedSize: number }[];
  }[];
}

export async function writeBuildRecord(
  outputDirectory: string,
  result: BuildResult,
): Promise<void> {
  const record: BuildRecord = {
    source: result.source,
    inputs: result.inputs,
    images: result.images.map((image) => ({
      name: image.name,
      reference: image.reference,
      tag: image.tag,
      indexDigest: image.index.digest,
      archiveDigest: image.archiveDigest,
      sbomManifestDigest: image.sbom.manifest.digest,
      platforms: image.platforms.map((platform) => ({
        platform: platform.platform,
        manifestDigest: platform.manifest.digest,
        compressedSize: platform.compressedSize,
      })),
    })),
  };
  await writeFile(
    join(outputDirectory, buildRecordFileName),
    `${JSON.stringify(record, null, 2)}\n`,
  );
}

async function readBlob(layoutDirectory: string, mediaType: string, digest: string): Promise<Blob> {
  const bytes = await readFile(blobPath(layoutDirectory, digest));
  return { mediaType, digest, size: bytes.length, bytes };
}

/** The images a build wrote into `outputDirectory`, as buildImages() returned them. */
export async function loadBuiltImages(outputDirectory: string): Promise<BuildResult> {
  const record = JSON.parse(
    await readFile(join(outputDirectory, buildRecordFileName), "utf8"),
  ) as BuildRecord;
  const images: BuiltImage[] = [];
  for (const entry of record.images) {
    const layoutDirectory = join(outputDirectory, entry.name);
    const index = await readBlob(
      layoutDirectory,
      "application/vnd.oci.image.index.v1+json",
      entry.indexDigest,
    );
    const platforms: BuiltPlatformImage[] = [];
    for (const platform of entry.platforms) {
      const manifest = await readBlob(
        layoutDirectory,
        "application/vnd.oci.image.manifest.v1+json",
        platform.manifestDigest,
      );
      const parsed = JSON.parse(manifest.bytes.toString("utf8")) as {
        config: { mediaType: string; digest: string };
        layers: { digest: string; size: number }[];
      };
      const config = await readBlob(layoutDirectory, parsed.config.mediaType, parsed.config.digest);
      const diffIds = (
        JSON.parse(config.bytes.toString("utf8")) as { rootfs: { diff_ids: string[] } }
      ).rootfs.diff_ids;
      platforms.push({
        platform: platform.platform,
        manifest,
        config,
        layers: parsed.layers.map((layer, position) => ({
          digest: layer.digest,
          size: layer.size,
          diffId: diffIds[position] as string,
        })),
        compressedSize: platform.compressedSize,
      });
    }
    const sbomPath = join(outputDirectory, `${entry.name}.spdx.json`);
    const sbom = sbomArtifact({
      document: JSON.parse(await readFile(sbomPath, "utf8")),
      fileName: `${entry.name}.spdx.json`,
      subject: { mediaType: index.mediaType, digest: index.digest, size: index.size },
      created: isoTime(record.source.epoch),
    });
    if (sbom.manifest.digest !== entry.sbomManifestDigest) {
      throw new Error(`${sbomPath} is not the SBOM the build made (changed since?)`);
    }
    images.push({
      name: entry.name,
      reference: entry.reference,
      tag: entry.tag,
      layoutDirectory,
      archivePath: join(outputDirectory, `${entry.name}.tar`),
      archiveDigest: entry.archiveDigest,
      index,
      platforms,
      sbom,
      sbomPath,
    });
  }
  return { images, source: record.source, inputs: record.inputs };
}
