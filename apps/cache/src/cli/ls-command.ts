/** `regmirror-cache ls`: the repositories and tags the cache holds, with sizes and last access. */
import { type CliContext, exitCodes } from "./cli-context.js";
import type { Command } from "./command.js";
import {
  inventoryOptionsHelp,
  parseInventoryCommandLine,
  withInventory,
} from "./inventory-access.js";
import { formatListing } from "./inventory-format.js";

const help = `Lists the images the cache holds, by repository and tag: the digest the tag resolves
to, the bytes of its content in the store (manifests, configs, layers; all platforms) and
when any of it was last pulled. Listing does not count as an access.

${inventoryOptionsHelp}`;

async function ls(argv: readonly string[], context: CliContext): Promise<number> {
  const commandLine = parseInventoryCommandLine(argv, "ls", context);
  if (commandLine === undefined) return exitCodes.usage;
  if (commandLine.positionals.length > 0) {
    context.writeError("regmirror-cache ls: takes no arguments (see --help)\n");
    return exitCodes.usage;
  }
  return withInventory(commandLine, "ls", context, async (inventory) => {
    const listing = await inventory.list();
    context.writeOut(
      commandLine.json ? `${JSON.stringify(listing, null, 2)}\n` : formatListing(listing),
    );
    return exitCodes.ok;
  });
}

export const lsCommand: Command = {
  name: "ls",
  arguments: "[--url URL | --config FILE]",
  summary: "list the cached repositories and tags, with sizes and last access",
  help,
  run: ls,
};
