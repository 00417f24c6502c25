import { checkConfigCommand } from "./check-config-command.js";
import type { Command } from "./command.js";

// serve and warm are part of the CLI's documented surface (issue 5) but not of this build:
// they have help text and no `run`, so invoking them says so instead of pretending to work.
const serveCommand: Command = {
  name: "serve",
  arguments: "[FILE]",
  summary: "run the pull-through cache (not in this build yet)",
  help: `Runs the pull-through cache with the configuration in FILE (an MSR content cache file, a
distribution config.yml or a native regmirror file). Without FILE it runs the built-in
default: a Docker Hub mirror storing under ./data, listening on 0.0.0.0:5000.

This build does not include the server yet.`,
};

const warmCommand: Command = {
  name: "warm",
  arguments: "IMAGE...",
  summary: "prefetch images into the cache (not in this build yet)",
  help: `Downloads every manifest and layer of each IMAGE (like docker.io/library/nginx:1.27)
into the cache, showing progress.

This build does not include warm yet.`,
};

export const commandTable: readonly Command[] = [checkConfigCommand, serveCommand, warmCommand];
