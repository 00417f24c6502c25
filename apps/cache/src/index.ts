// The cache daemon's modules, for tests and for tools that embed the CLI.
export type { CliContext } from "./cli/cli-context.js";
export { exitCodes } from "./cli/cli-context.js";
export type { Command } from "./cli/command.js";
export { commandTable } from "./cli/command-table.js";
export { formatCommandHelp, formatProgramHelp, runCli } from "./cli/run-cli.js";
export { describeCacheConfig } from "./config/describe-cache-config.js";
export { type ConfigFileResult, loadConfigFile } from "./config/load-config-file.js";
