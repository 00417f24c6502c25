import { spawnSync } from "node:child_process";
import { repositoryRoot } from "./paths.mjs";

/** Runs a command with inherited stdio; returns its exit status (never throws on failure). */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.error) {
    throw new Error(`could not start ${command}: ${result.error.message}`);
  }
  return result.status ?? 1;
}

/** Runs a command and throws when it fails. */
export function runOrThrow(command, args, options = {}) {
  const status = run(command, args, options);
  if (status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${status}`);
  }
}

/** True when an executable of that name is on PATH. */
export function hasCommand(name, env = process.env) {
  const result = spawnSync("sh", ["-c", `command -v ${name}`], { env, stdio: "ignore" });
  return result.status === 0;
}

/** Builds `workspace` and the workspaces it depends on with turbo, showing only errors. */
export function buildWorkspace(workspace, env) {
  runOrThrow(
    "pnpm",
    ["exec", "turbo", "run", "build", "--filter", `${workspace}...`, "--output-logs=errors-only"],
    { cwd: repositoryRoot, env: { ...env, TURBO_TELEMETRY_DISABLED: "1" } },
  );
}
