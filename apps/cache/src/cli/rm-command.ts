/** `regmirror-cache rm`: removes an image, a repository or a digest from the store, by hand. */
import { EvictionTargetError } from "../inspection/eviction-target.js";
import { type CliContext, exitCodes } from "./cli-context.js";
import type { Command } from "./command.js";
import {
  AdminApiError,
  inventoryOptionsHelp,
  parseInventoryCommandLine,
  withInventory,
} from "./inventory-access.js";
import { formatEviction } from "./inventory-format.js";

const help = `Removes each TARGET from the cache's store:
  an image        docker.io/library/alpine:3.20, registry.example:5000/team/app@sha256:...
  a repository    docker.io/library/alpine (every cached tag of it)
  a digest        sha256:... (one blob or manifest)
An image's content goes with it unless another cached image uses it. Content a client is
reading or the cache is downloading is kept (rm says so); the next pull fetches what was
removed again. Every removal is logged by the cache.

${inventoryOptionsHelp}`;

async function rm(argv: readonly string[], context: CliContext): Promise<number> {
  const commandLine = parseInventoryCommandLine(argv, "rm", context);
  if (commandLine === undefined) return exitCodes.usage;
  if (commandLine.positionals.length === 0) {
    context.writeError("regmirror-cache rm: name at least one TARGET (see --help)\n");
    return exitCodes.usage;
  }
  return withInventory(commandLine, "rm", context, async (inventory) => {
    let failures = 0;
    for (const target of commandLine.positionals) {
      try {
        const report = await inventory.evict(target, "regmirror-cache rm");
        context.writeOut(commandLine.json ? `${JSON.stringify(report)}\n` : formatEviction(report));
      } catch (error) {
        if (!(error instanceof EvictionTargetError || error instanceof AdminApiError)) throw error;
        failures += 1;
        context.writeError(`regmirror-cache rm: ${error.message}\n`);
      }
    }
    return failures === 0 ? exitCodes.ok : exitCodes.invalidInput;
  });
}

export const rmCommand: Command = {
  name: "rm",
  arguments: "TARGET... [--url URL | --config FILE]",
  summary: "remove an image, a repository or a digest from the store",
  help,
  run: rm,
};
