import { parseArgs } from "node:util";
import { openCacheBackend } from "../daemon/open-cache-backend.js";
import { createRootLogger } from "../logging/create-root-logger.js";
import { createProgressDisplay, describeWarmResult } from "../warm/progress-display.js";
import { warmImage } from "../warm/warm-images.js";
import { type CliContext, exitCodes } from "./cli-context.js";
import type { Command } from "./command.js";
import { loadEffectiveConfig } from "./load-effective-config.js";

const help = `Downloads every manifest and blob of each IMAGE (like docker.io/library/nginx:1.27 or
registry.example:5000/team/app@sha256:...) into the cache's store, through the same
pull-through code a client's pull takes: all platforms of a multi-platform image. Afterwards
the cache serves these images without asking upstream for their content.

The store is the one of the configuration (--config FILE, else the built-in default under
./data). A filesystem store belongs to one process at a time: warm it before 'serve' starts
(an init container) or warm a store in S3.

Progress: on a terminal one line with bytes and blobs done of the total; otherwise one line
per blob, saying whether it was downloaded or already cached. Exit code 0 when every image was
warmed, 1 when one failed.

Options:
  -c, --config FILE   the cache configuration (default: the built-in Docker Hub mirror)
  -h, --help          this text`;

async function warm(argv: readonly string[], context: CliContext): Promise<number> {
  let parsed: { positionals: string[]; values: { config?: string | undefined } };
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { config: { type: "string", short: "c" } },
    });
  } catch (error) {
    context.writeError(`regmirror-cache warm: ${(error as Error).message}\n`);
    return exitCodes.usage;
  }
  if (parsed.positionals.length === 0) {
    context.writeError("regmirror-cache warm: name at least one IMAGE (see --help)\n");
    return exitCodes.usage;
  }
  const config = await loadEffectiveConfig(parsed.values.config, context, "warm");
  if (config === undefined) return exitCodes.invalidInput;
  context.trustOperatingSystemStore?.();
  // Warnings and errors only, on stderr: the progress display is the output.
  const logger = createRootLogger({
    level: "warn",
    fileDescriptor: 2,
    ...(context.logDestination === undefined ? {} : { destination: context.logDestination }),
  });
  const abort = new AbortController();
  context.onShutdownSignal?.(() => abort.abort());
  let backend: Awaited<ReturnType<typeof openCacheBackend>>;
  try {
    backend = await openCacheBackend({ config, logger, owner: "regmirror-cache warm" });
  } catch (error) {
    context.writeError(
      `regmirror-cache warm: cannot open the store: ${(error as Error).message}\n`,
    );
    return exitCodes.invalidInput;
  }
  const display = createProgressDisplay(context.writeOut, context.stdoutIsTerminal === true);
  let failures = 0;
  try {
    for (const image of parsed.positionals) {
      try {
        const result = await warmImage({
          storage: backend.storage,
          image,
          signal: abort.signal,
          onProgress: (progress) => display.update(progress),
          touchIfStored: (digest) => backend.blobStore.touch(digest),
        });
        display.finish();
        context.writeOut(`${describeWarmResult(result)}\n`);
      } catch (error) {
        display.finish();
        failures += 1;
        context.writeError(`${image}: ${(error as Error).message}\n`);
      }
      if (abort.signal.aborted) break;
    }
  } finally {
    await backend.close();
  }
  return failures === 0 ? exitCodes.ok : exitCodes.invalidInput;
}

export const warmCommand: Command = {
  name: "warm",
  arguments: "IMAGE...",
  summary: "prefetch images (all platforms) into the cache's store",
  help,
  run: warm,
};
