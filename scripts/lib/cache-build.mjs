// Builds the cache daemon (apps/cache/dist) for `npm start`, skipped when none of the files the
// bundle is made from changed since the last build it made: the daemon's sources, those of the
// workspaces it bundles (its dependencies, from source), the build configuration and the lockfile.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hashInputs, stampMatches, writeStamp } from "./input-stamp.mjs";
import { step } from "./log.mjs";
import { repositoryRoot } from "./paths.mjs";
import { buildWorkspace } from "./run.mjs";

const cacheDirectory = "apps/cache";

/** The workspace directories the bundle is made from: the cache and its runtime dependencies. */
function bundledWorkspaces() {
  const directories = [cacheDirectory];
  const manifest = JSON.parse(readFileSync(join(repositoryRoot, cacheDirectory, "package.json")));
  for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
    if (String(range).startsWith("workspace:")) {
      directories.push(`packages/${name.replace("@regmirror/", "")}`);
    }
  }
  return directories;
}

function buildInputs() {
  const perWorkspace = bundledWorkspaces().flatMap((directory) =>
    ["src", "package.json", "tsup.config.ts", "tsconfig.json", "tsconfig.build.json"].map((file) =>
      join(directory, file),
    ),
  );
  return hashInputs([...perWorkspace, "tsconfig.base.json", "tsup.shared.ts", "pnpm-lock.yaml"]);
}

export function buildCacheDaemon(env) {
  const stampFile = join(repositoryRoot, cacheDirectory, "dist", ".regmirror-build-inputs");
  const inputs = buildInputs();
  if (stampMatches(stampFile, inputs)) {
    step("the cache daemon is built and none of its sources changed");
    return;
  }
  step("building @regmirror/cache and its dependencies");
  buildWorkspace("@regmirror/cache", env);
  writeStamp(stampFile, inputs);
}
