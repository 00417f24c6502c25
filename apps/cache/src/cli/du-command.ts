/** `regmirror-cache du`: the store's usage, by upstream and by repository. */
import type { Command } from "./command.js";
import { inventoryOptionsHelp, printInventoryAnswer } from "./inventory-access.js";
import { formatUsage } from "./inventory-format.js";

const help = `Shows how much the store holds: in all, per upstream, per repository (a layer two
tags share counts once in a repository) and the content no cached tag reaches.

${inventoryOptionsHelp}`;

export const duCommand: Command = {
  name: "du",
  arguments: "[--url URL | --config FILE]",
  summary: "show the store's usage by upstream and repository",
  help,
  run: printInventoryAnswer("du", (inventory) => inventory.usage(), formatUsage),
};
