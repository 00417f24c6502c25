#!/usr/bin/env node
// The README's first command (`npm start`): installs the workspace, builds the cache daemon and
// what it depends on, and runs it with the built-in default configuration (a Docker Hub
// mirror on 0.0.0.0:5000 storing under ./data). Arguments go to `regmirror-cache serve`
// (`npm start -- config.yml`, `npm start -- --help`).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { step } from "./lib/log.mjs";
import { repositoryRoot } from "./lib/paths.mjs";
import { runOrThrow } from "./lib/run.mjs";
import { prepareWorkspace } from "./lib/workspace.mjs";

const env = prepareWorkspace(process.env);
step("building @regmirror/cache and its dependencies");
runOrThrow(
  "pnpm",
  ["exec", "turbo", "run", "build", "--filter", "@regmirror/cache...", "--output-logs=errors-only"],
  {
    cwd: repositoryRoot,
    env,
  },
);

// Node 26 from the workspace (the root devDependency `node`), not the machine's own.
const node = join(repositoryRoot, "node_modules", ".bin", "node");
const daemon = join(repositoryRoot, "apps", "cache", "dist", "main.js");
step(`starting: regmirror-cache serve ${process.argv.slice(2).join(" ")}`);
const child = spawn(node, [daemon, "serve", ...process.argv.slice(2)], { stdio: "inherit", env });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
