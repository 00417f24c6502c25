/**
 * A worker other than the first (docs/adr/0036-worker-processes.md): waits for the first
 * worker's start message, takes the configuration it carries (docs/adr/0040-memory-per-worker.md)
 * and serves until a signal, or the first worker going away, stops it.
 */
import type { EffectiveCacheConfig } from "@regmirror/schemas";
import type { DestinationStream } from "pino";
import { exitCodes } from "../cli/cli-context.js";
import { createCacheDaemon } from "../daemon/create-cache-daemon.js";
import { describeStartFailure, reportStartFailure } from "../daemon/describe-start-failure.js";
import { createRootLogger } from "../logging/create-root-logger.js";
import { configFromStartMessage } from "./worker-config.js";
import { awaitStart, joinAsOtherWorker, type WorkerChannel } from "./worker-processes.js";

export interface OtherWorkerContext {
  channel: WorkerChannel;
  writeError(text: string): void;
  /** Calls `listener` on SIGTERM / SIGINT, or when the first worker is gone. */
  onShutdownSignal(listener: (signal: string) => void): void;
  /** Where the JSON log lines go; default: standard output, written synchronously. */
  logDestination?: DestinationStream;
}

/** Serves as another worker; gives the exit code (1: it could not start, and says why). */
export async function serveAsOtherWorker(context: OtherWorkerContext): Promise<number> {
  const shutdown = new Promise<string>((resolve) => context.onShutdownSignal(resolve));
  const start = await Promise.race([awaitStart(context.channel), shutdown.then(() => undefined)]);
  if (start === undefined) return exitCodes.ok;
  let config: EffectiveCacheConfig;
  try {
    config = configFromStartMessage(start);
  } catch (error) {
    context.writeError(`regmirror-cache worker: ${describeStartFailure(error)}\n`);
    return exitCodes.invalidInput;
  }
  const logger = createRootLogger({
    level: config.log.level,
    format: config.log.format,
    fields: config.log.fields,
    ...(context.logDestination === undefined ? {} : { destination: context.logDestination }),
  }).child({ worker: "other" });
  let daemon: Awaited<ReturnType<typeof createCacheDaemon>> | undefined;
  try {
    daemon = await createCacheDaemon({
      config,
      logger,
      worker: joinAsOtherWorker(context.channel, start),
    });
    await daemon.listen();
  } catch (error) {
    reportStartFailure(error, logger, (text) => context.writeError(text), "worker");
    await daemon?.close();
    return exitCodes.invalidInput;
  }
  const signal = await shutdown;
  logger.info({ signal }, "shutdown requested");
  await daemon.close();
  return exitCodes.ok;
}
