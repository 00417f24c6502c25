// The tar the builder writes for people without a registry: skopeo reads it as an OCI archive,
// and containerd imports it under the image's full name and runs it.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type Containerd,
  makeTempDirectory,
  removeTempDirectory,
  runContainer,
  skopeoCopy,
  skopeoInspectRaw,
  startContainerd,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageNames } from "../src/index.js";
import { imageUnderTest, json } from "./images-under-test.js";

let containerd: Containerd;
let directory: string;

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-image-archive-");
  containerd = await startContainerd();
});

afterAll(async () => {
  await containerd?.stop();
  if (directory) await removeTempDirectory(directory);
});

describe("the image tar", () => {
  it.each(imageNames)(
    "%s: skopeo reads it as an OCI archive and copies every platform with its digests",
    async (name) => {
      const image = await imageUnderTest(name);
      const raw = await skopeoInspectRaw(`oci-archive:${image.archivePath}`);
      expect(raw.equals(image.index.bytes)).toBe(true);
      const copy = join(directory, name);
      await skopeoCopy(
        `oci-archive:${image.archivePath}:${image.tag}`,
        `oci:${copy}:${image.tag}`,
        { all: true },
      );
      const index = json<{ manifests: { digest: string }[] }>(
        await readFile(join(copy, "index.json")),
      );
      expect(index.manifests.map((entry) => entry.digest)).toEqual([image.index.digest]);
    },
  );

  it("ctr images import loads it under its full name with the index digest, and it runs", async () => {
    const image = await imageUnderTest("regmirror-operator");
    await containerd.ctr([
      "images",
      "import",
      "--snapshotter",
      containerd.snapshotter,
      image.archivePath,
    ]);
    expect(await containerd.listImages()).toContainEqual({
      name: image.reference,
      mediaType: "application/vnd.oci.image.index.v1+json",
      digest: image.index.digest,
    });
    const container = await runContainer(containerd, {
      image: image.reference,
      id: "imported",
      readOnlyRootFilesystem: true,
    });
    expect(await container.exited).toBe(0);
    expect(container.output()).toContain("Usage: regmirror-operator <command>");
  });
});
