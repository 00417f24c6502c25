import { randomBytes, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type EffectiveCacheConfig, formatListenAddress } from "@regmirror/schemas";
import type { Logger } from "pino";
import { buildInfo } from "../build-info.js";
import { createCacheDaemon } from "../daemon/create-cache-daemon.js";
import { reportStartFailure } from "../daemon/describe-start-failure.js";
import { createRootLogger } from "../logging/create-root-logger.js";
import { createFirstWorker, type FirstWorker } from "../workers/worker-processes.js";
import { type CliContext, exitCodes } from "./cli-context.js";
import type { Command } from "./command.js";
import { loadEffectiveConfig } from "./load-effective-config.js";

const help = `Runs the pull-through cache with the configuration in FILE (an MSR content cache file, a
distribution config.yml in proxy form or a native regmirror file), which must name the upstream
registry. Only without FILE does it run the built-in default: a Docker Hub mirror storing under
./data, listening on 0.0.0.0:5000 (and it says so in its first log line). REGISTRY_* environment
variables override keys, as in distribution (REGISTRY_PROXY_REMOTEURL, REGISTRY_HTTP_ADDR, ...).

A configuration problem stops start-up before anything listens: each problem is printed with
its key path, the value and what was expected, and the exit code is 1. Logs are JSON lines on
standard output (log.formatter: text for key=value lines), one access-log line per request.

On SIGTERM or SIGINT the cache stops accepting connections, /readyz fails, requests under way
may finish for up to http.draintimeout (default 30s), then the store is closed and the exit
code is 0. A second signal exits at once.

With regmirror.workers: N (default 1) the cache runs N processes on one port: the first owns
the store and fetches from upstream, the others serve stored content and pass the rest to it.
/metrics answers for all of them (the first worker merges the others' numbers).

Endpoints besides the registry API: /healthz, /readyz, /metrics (Prometheus).

Options:
  -h, --help   this text`;

/** The first lines of the log: what runs, from which configuration, and what was ignored. */
function logStartUp(logger: Logger, config: EffectiveCacheConfig, file: string | undefined): void {
  logger.info(
    {
      version: buildInfo.version,
      nodeVersion: buildInfo.nodeVersion,
      configFile: file === undefined ? null : resolve(file),
      environmentOverrides: config.environmentOverrides.map((override) => override.variable),
    },
    "starting",
  );
  if (file === undefined) {
    logger.warn(
      {
        upstreams: config.upstreams.map((upstream) => upstream.endpoints[0]),
        listen: formatListenAddress(config.listen),
        storage: config.storage.kind === "filesystem" ? config.storage.rootDirectory : "s3",
      },
      "no configuration file named: running the built-in default, a mirror open to every client that reaches it (name a FILE to choose upstreams, address and storage)",
    );
  }
  for (const notice of config.notices) {
    logger.warn({ key: notice.path }, `ignored: ${notice.message}`);
  }
}

/**
 * The first of `regmirror.workers` processes; undefined with one worker. (The others run
 * other-worker-main.ts, with the configuration this one sends them.)
 */
function firstWorkerOf(
  config: EffectiveCacheConfig,
  context: CliContext,
  logger: Logger,
): FirstWorker | undefined {
  if (config.workers <= 1) return undefined;
  if (context.workers === undefined) {
    throw new Error("regmirror.workers above 1 needs a process that can start workers");
  }
  return createFirstWorker({
    config,
    workers: config.workers,
    privateSocket: join(tmpdir(), `regmirror-cache-${randomUUID()}.sock`),
    // Every worker signs and checks tokens with one key: http.secret, or one made now.
    tokenSecret: config.httpSecret?.reveal() ?? randomBytes(32).toString("base64url"),
    startOther: context.workers.startOther,
    logger,
    shutdownGraceMs: config.shutdownGraceMs,
  });
}

async function serve(argv: readonly string[], context: CliContext): Promise<number> {
  let positionals: string[];
  try {
    positionals = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {},
    }).positionals;
  } catch (error) {
    context.writeError(`regmirror-cache serve: ${(error as Error).message}\n`);
    return exitCodes.usage;
  }
  if (positionals.length > 1) {
    context.writeError("regmirror-cache serve: expected at most one FILE (see --help)\n");
    return exitCodes.usage;
  }
  const config = await loadEffectiveConfig(positionals[0], context, "serve");
  if (config === undefined) return exitCodes.invalidInput;
  context.trustOperatingSystemStore?.();

  const logger = createRootLogger({
    level: config.log.level,
    format: config.log.format,
    fields: config.log.fields,
    ...(context.logDestination === undefined ? {} : { destination: context.logDestination }),
  });
  logStartUp(logger, config, positionals[0]);
  // Registered before start-up, so a signal during it still stops cleanly.
  const shutdown = new Promise<string>((resolve) => context.onShutdownSignal?.(resolve));
  let daemon: Awaited<ReturnType<typeof createCacheDaemon>> | undefined;
  let firstWorker: FirstWorker | undefined;
  try {
    firstWorker = firstWorkerOf(config, context, logger);
    daemon = await createCacheDaemon({
      config,
      logger: firstWorker === undefined ? logger : logger.child({ worker: firstWorker.kind }),
      ...(firstWorker === undefined ? {} : { worker: firstWorker }),
    });
    await daemon.listen();
  } catch (error) {
    reportStartFailure(error, logger, (text) => context.writeError(text), "serve");
    await firstWorker?.stopOthers();
    await daemon?.close();
    return exitCodes.invalidInput;
  }
  const signal = await shutdown;
  logger.info({ signal }, "shutdown requested");
  // The other workers pass requests to the first: they stop before it does.
  await firstWorker?.stopOthers();
  await daemon.close();
  return exitCodes.ok;
}

export const serveCommand: Command = {
  name: "serve",
  arguments: "[FILE]",
  summary: "run the pull-through cache",
  help,
  run: serve,
};
