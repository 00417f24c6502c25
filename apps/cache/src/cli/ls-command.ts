/** `regmirror-cache ls`: the repositories and tags the cache holds, with sizes and last access. */
import type { Command } from "./command.js";
import { inventoryOptionsHelp, printInventoryAnswer } from "./inventory-access.js";
import { formatListing } from "./inventory-format.js";

const help = `Lists the images the cache holds, by repository and tag: the digest the tag resolves
to, the bytes of its content in the store (manifests, configs, layers; all platforms) and
when any of it was last pulled. Listing does not count as an access.

${inventoryOptionsHelp}`;

export const lsCommand: Command = {
  name: "ls",
  arguments: "[--url URL | --config FILE]",
  summary: "list the cached repositories and tags, with sizes and last access",
  help,
  run: printInventoryAnswer("ls", (inventory) => inventory.list(), formatListing),
};
