/** `regmirror-cache du`: the store's usage, by upstream and by repository. */
import { type CliContext, exitCodes } from "./cli-context.js";
import type { Command } from "./command.js";
import {
  inventoryOptionsHelp,
  parseInventoryCommandLine,
  withInventory,
} from "./inventory-access.js";
import { formatUsage } from "./inventory-format.js";

const help = `Shows how much the store holds: in all, per upstream, per repository (a layer two
tags share counts once in a repository) and the content no cached tag reaches.

${inventoryOptionsHelp}`;

async function du(argv: readonly string[], context: CliContext): Promise<number> {
  const commandLine = parseInventoryCommandLine(argv, "du", context);
  if (commandLine === undefined) return exitCodes.usage;
  if (commandLine.positionals.length > 0) {
    context.writeError("regmirror-cache du: takes no arguments (see --help)\n");
    return exitCodes.usage;
  }
  return withInventory(commandLine, "du", context, async (inventory) => {
    const usage = await inventory.usage();
    context.writeOut(commandLine.json ? `${JSON.stringify(usage, null, 2)}\n` : formatUsage(usage));
    return exitCodes.ok;
  });
}

export const duCommand: Command = {
  name: "du",
  arguments: "[--url URL | --config FILE]",
  summary: "show the store's usage by upstream and repository",
  help,
  run: du,
};
