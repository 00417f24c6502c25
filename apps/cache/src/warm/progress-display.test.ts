import { expect, test } from "vitest";
import { createProgressDisplay, describeWarmResult } from "./progress-display.js";

const base = { image: "docker.io/library/app:1", blobsTotal: 2, bytesTotal: 3072 };
/** The second and last blob downloaded. */
const bothBlobsDone = {
  ...base,
  blobsDone: 2,
  bytesDone: 3072,
  finishedBlob: { digest: "sha256:bb", size: 2048, alreadyCached: false },
};

test("not a terminal: one plain line per finished blob, nothing for partial progress", () => {
  const written: string[] = [];
  const display = createProgressDisplay((text) => written.push(text), false);
  display.update({ ...base, blobsDone: 0, bytesDone: 512 });
  display.update({
    ...base,
    blobsDone: 1,
    bytesDone: 1024,
    finishedBlob: { digest: "sha256:aa", size: 1024, alreadyCached: true },
  });
  display.update(bothBlobsDone);
  display.finish();
  expect(written).toEqual([
    "docker.io/library/app:1: sha256:aa 1KiB already cached (1/2 blobs)\n",
    "docker.io/library/app:1: sha256:bb 2KiB downloaded (2/2 blobs)\n",
  ]);
});

test("a terminal: the line is redrawn in place with bytes and blobs done, and ended by finish()", () => {
  const written: string[] = [];
  const display = createProgressDisplay((text) => written.push(text), true);
  display.update(bothBlobsDone);
  display.finish();
  expect(written).toEqual(["\r\x1b[2Kdocker.io/library/app:1: 3KiB / 3KiB, 2/2 blobs", "\n"]);
});

test("the closing line counts manifests and blobs in words and tells downloaded from cached", () => {
  const result = {
    image: "docker.io/library/app:1",
    digest: "sha256:cc",
    manifests: 1,
    blobs: 3,
    bytes: 5120,
    downloadedBlobs: 1,
    downloadedBytes: 2048,
  };
  expect(describeWarmResult(result)).toBe(
    "docker.io/library/app:1: cached sha256:cc (1 manifest, 3 blobs: 1 downloaded (2KiB), 2 already cached)",
  );
  expect(describeWarmResult({ ...result, downloadedBlobs: 0, downloadedBytes: 0 })).toBe(
    "docker.io/library/app:1: cached sha256:cc (1 manifest, 3 blobs: none downloaded, 3 already cached)",
  );
});
