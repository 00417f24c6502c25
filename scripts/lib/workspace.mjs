import { readdirSync } from "node:fs";
import { join } from "node:path";
import { hashInputs, stampMatches, writeStamp } from "./input-stamp.mjs";
import { step } from "./log.mjs";
import { prependToPath, repositoryRoot } from "./paths.mjs";
import { ensurePnpm } from "./pnpm.mjs";
import { runOrThrow } from "./run.mjs";

/** What `pnpm install` reads: the lockfile, the workspace list and every package.json. */
function installInputs() {
  const manifests = ["apps", "packages"].flatMap((group) =>
    readdirSync(join(repositoryRoot, group)).map((name) => join(group, name, "package.json")),
  );
  return hashInputs([
    "package.json",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    ".npmrc",
    ...manifests,
  ]);
}

/**
 * Installs pnpm and the workspace's dependencies (Node 26 among them) and returns an environment
 * whose PATH finds both. `--frozen-lockfile` in CI, so a stale lockfile fails loudly there.
 * When nothing pnpm reads changed since the last install, the install is skipped.
 */
export function prepareWorkspace(env = process.env) {
  step("checking pnpm");
  const withPnpm = prependToPath(env, ensurePnpm(), join(repositoryRoot, "node_modules", ".bin"));
  const stampFile = join(repositoryRoot, "node_modules", ".regmirror-install-inputs");
  const inputs = installInputs();
  if (stampMatches(stampFile, inputs)) {
    step("workspace dependencies are installed and nothing they depend on changed");
    return withPnpm;
  }
  step("installing workspace dependencies");
  const frozen = env.CI ? ["--frozen-lockfile"] : [];
  runOrThrow("pnpm", ["install", ...frozen], { cwd: repositoryRoot, env: withPnpm });
  writeStamp(stampFile, installInputs());
  return withPnpm;
}
