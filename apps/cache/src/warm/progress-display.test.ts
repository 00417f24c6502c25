import { expect, test } from "vitest";
import { createProgressDisplay } from "./progress-display.js";

const base = { image: "docker.io/library/app:1", blobsTotal: 2, bytesTotal: 3072 };

test("not a terminal: one plain line per finished blob, nothing for partial progress", () => {
  const written: string[] = [];
  const display = createProgressDisplay((text) => written.push(text), false);
  display.update({ ...base, blobsDone: 0, bytesDone: 512 });
  display.update({
    ...base,
    blobsDone: 1,
    bytesDone: 1024,
    finishedBlob: { digest: "sha256:aa", size: 1024 },
  });
  display.update({
    ...base,
    blobsDone: 2,
    bytesDone: 3072,
    finishedBlob: { digest: "sha256:bb", size: 2048 },
  });
  display.finish();
  expect(written).toEqual([
    "docker.io/library/app:1: sha256:aa 1KiB done (1/2 blobs)\n",
    "docker.io/library/app:1: sha256:bb 2KiB done (2/2 blobs)\n",
  ]);
});

test("a terminal: the line is redrawn in place with bytes and blobs done, and ended by finish()", () => {
  const written: string[] = [];
  const display = createProgressDisplay((text) => written.push(text), true);
  display.update({
    ...base,
    blobsDone: 2,
    bytesDone: 3072,
    finishedBlob: { digest: "sha256:bb", size: 2048 },
  });
  display.finish();
  expect(written).toEqual(["\r\x1b[2Kdocker.io/library/app:1: 3KiB / 3KiB, 2/2 blobs", "\n"]);
});
