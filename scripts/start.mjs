#!/usr/bin/env node
// The README's `npm start`: installs the workspace, builds the cache daemon (both skipped when
// nothing they depend on changed) and runs regmirror-cache. `npm start` runs `serve` with the
// built-in default; `npm start -- config.yml` serves that file; `npm start -- check-config x.yml`,
// `-- warm IMAGE`, `-- --help` and `-- --version` run that command. Relative paths are taken
// from the directory npm was started in. SIGINT and SIGTERM reach the daemon, which drains.
import "./lib/require-node.mjs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { buildCacheDaemon } from "./lib/cache-build.mjs";
import { cacheCommandLine } from "./lib/cache-commands.mjs";
import { cacheImageEnvironment } from "./lib/cache-image-environment.mjs";
import { step } from "./lib/log.mjs";
import { repositoryRoot } from "./lib/paths.mjs";
import { prepareWorkspace } from "./lib/workspace.mjs";

const commandLine = cacheCommandLine(process.argv.slice(2));
const env = prepareWorkspace(process.env);
buildCacheDaemon(env);

// Node 26 from the workspace (the root devDependency `node`), not the machine's own: its real
// binary, not the node_modules/.bin/node shell wrapper, which would not pass signals on.
const node = join(repositoryRoot, "node_modules", "node", "bin", "node");
const daemon = join(repositoryRoot, "apps", "cache", "dist", "main.js");
// npm runs scripts in the repository; INIT_CWD is where the user typed `npm start`.
const callerDirectory = env.INIT_CWD ?? process.cwd();
step(`starting: regmirror-cache ${commandLine.join(" ")} (in ${callerDirectory})`);
const child = spawn(node, [daemon, ...commandLine], {
  stdio: "inherit",
  // The daemon's memory settings, as its container image has them (a variable the user set wins).
  env: { ...cacheImageEnvironment(), ...env },
  cwd: callerDirectory,
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
