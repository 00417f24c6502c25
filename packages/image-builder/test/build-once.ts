// Vitest global setup of the "images" project: builds both images, both platforms, once per test
// run into a temporary directory that every image test reads (loadBuiltImages).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildImages } from "../src/index.js";

declare module "vitest" {
  export interface ProvidedContext {
    imagesDirectory: string;
  }
}

export default async function buildOnce(project: TestProject): Promise<() => Promise<void>> {
  // While working on the image tests: REGMIRROR_TEST_IMAGES=DIR uses the images an earlier
  // `npm run image -- --output DIR` built, instead of building them again.
  const earlier = process.env.REGMIRROR_TEST_IMAGES;
  if (earlier) {
    console.log(`[images] using the images built in ${earlier} (REGMIRROR_TEST_IMAGES)`);
    project.provide("imagesDirectory", earlier);
    return async () => undefined;
  }
  const directory = await mkdtemp(join(tmpdir(), "regmirror-images-"));
  const started = Date.now();
  const log = (message: string) =>
    console.log(`[images ${((Date.now() - started) / 1000).toFixed(0)}s] ${message}`);
  await buildImages({ outputDirectory: directory, log });
  log(`built into ${directory}`);
  project.provide("imagesDirectory", directory);
  return async () => {
    await rm(directory, { recursive: true, force: true });
  };
}
