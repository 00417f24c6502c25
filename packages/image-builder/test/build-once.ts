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
