import { join } from "node:path";
import { step } from "./log.mjs";
import { prependToPath, repositoryRoot } from "./paths.mjs";
import { ensurePnpm } from "./pnpm.mjs";
import { runOrThrow } from "./run.mjs";

/**
 * Installs pnpm and the workspace's dependencies (Node 26 among them) and returns an environment
 * whose PATH finds both. `--frozen-lockfile` in CI, so a stale lockfile fails loudly there.
 */
export function prepareWorkspace(env = process.env) {
  step("checking pnpm");
  const withPnpm = prependToPath(env, ensurePnpm(), join(repositoryRoot, "node_modules", ".bin"));
  step("installing workspace dependencies");
  const frozen = env.CI ? ["--frozen-lockfile"] : [];
  runOrThrow("pnpm", ["install", ...frozen], { cwd: repositoryRoot, env: withPnpm });
  return withPnpm;
}
