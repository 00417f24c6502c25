import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { step } from "./log.mjs";
import { cacheDirectory, repositoryRoot } from "./paths.mjs";
import { runOrThrow } from "./run.mjs";

/**
 * Installs the pnpm version named in package.json's `packageManager` into the cache directory
 * (corepack cannot verify signatures on these machines) and returns its bin directory.
 */
export function ensurePnpm() {
  const manifest = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8"));
  const [name, version] = manifest.packageManager.split("@");
  const prefix = join(cacheDirectory(), `${name}-${version}`);
  const binDirectory = join(prefix, "node_modules", ".bin");
  if (!existsSync(join(binDirectory, "pnpm"))) {
    step(`installing ${name}@${version} into ${prefix}`);
    runOrThrow("npm", [
      "install",
      "--prefix",
      prefix,
      `${name}@${version}`,
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
    ]);
  }
  return binDirectory;
}
