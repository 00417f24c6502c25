// The cache daemon's modules, for tests and for tools that embed the CLI.
export type { CliContext } from "./cli/cli-context.js";
export { exitCodes } from "./cli/cli-context.js";
export type { Command } from "./cli/command.js";
export { commandTable } from "./cli/command-table.js";
export { formatCommandHelp, formatProgramHelp, runCli } from "./cli/run-cli.js";
export { describeCacheConfig } from "./config/describe-cache-config.js";
export { type ConfigFileResult, loadConfigFile } from "./config/load-config-file.js";
export {
  type CacheDaemon,
  type CacheDaemonAddress,
  type CacheDaemonOptions,
  createCacheDaemon,
} from "./daemon/create-cache-daemon.js";
export { type CacheBackend, openCacheBackend } from "./daemon/open-cache-backend.js";
export { createRootLogger, type RootLoggerOptions } from "./logging/create-root-logger.js";
export { type WarmProgress, type WarmResult, warmImage } from "./warm/warm-images.js";
