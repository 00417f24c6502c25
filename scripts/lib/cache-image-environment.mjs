// The environment the cache's container image sets (packages/image-builder/src/image-definitions.ts:
// NODE_OPTIONS, the C library's malloc settings; docs/adr/0040-memory-per-worker.md), read from
// that one definition so that `npm start` and the benchmarks run the daemon as the image does.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repositoryRoot } from "./paths.mjs";

export const imageDefinitionsFile = "packages/image-builder/src/image-definitions.ts";

/** { NAME: "value" } of the regmirror-cache image's `environment`. */
export function cacheImageEnvironment(root = repositoryRoot) {
  const definitions = readFileSync(join(root, imageDefinitionsFile), "utf8");
  const block = /"regmirror-cache": \{[\s\S]*?\n {4}environment: \{([\s\S]*?)\n {4}\},/.exec(
    definitions,
  )?.[1];
  if (block === undefined) {
    throw new Error(`${imageDefinitionsFile}: no environment found for regmirror-cache`);
  }
  const environment = {};
  for (const line of block.split("\n")) {
    const setting = /^\s*([A-Z_][A-Z0-9_]*): "([^"]*)",?\s*$/.exec(line);
    if (setting) environment[setting[1]] = setting[2];
  }
  return environment;
}
