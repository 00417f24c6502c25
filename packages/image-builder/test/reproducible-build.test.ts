// Reproducible: a second build of the same commit with the same locked inputs, from nothing
// (no file of the first build is reused), gives the same bytes: the same digests for every layer,
// config, manifest, index and SBOM, and the same tar.
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { afterAll, expect, it } from "vitest";
import { type BuildResult, buildImages } from "../src/index.js";
import { imagesUnderTest } from "./images-under-test.js";

let directory: string | undefined;

afterAll(async () => {
  if (directory) await removeTempDirectory(directory);
});

/** Everything a digest names in a build, by what it is. */
function digestsOf(result: BuildResult): Record<string, string> {
  const digests: Record<string, string> = {};
  for (const image of result.images) {
    digests[`${image.name} index`] = image.index.digest;
    digests[`${image.name} tar`] = image.archiveDigest;
    digests[`${image.name} SBOM`] = image.sbom.manifest.digest;
    for (const platform of image.platforms) {
      const at = `${image.name} ${platform.platform}`;
      digests[`${at} manifest`] = platform.manifest.digest;
      digests[`${at} config`] = platform.config.digest;
      for (const [position, layer] of platform.layers.entries()) {
        digests[`${at} layer ${position}`] = layer.digest;
        digests[`${at} layer ${position} diff_id`] = layer.diffId;
      }
    }
  }
  return digests;
}

it("building again gives the same digests for every layer, config, manifest, index, SBOM and tar", async () => {
  const first = await imagesUnderTest();
  directory = makeTempDirectory("regmirror-images-again-");
  const second = await buildImages({ outputDirectory: directory });
  expect(second.source).toEqual(first.source);
  expect(digestsOf(second)).toEqual(digestsOf(first));
}, 900_000);
