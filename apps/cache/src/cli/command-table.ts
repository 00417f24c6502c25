import { checkConfigCommand } from "./check-config-command.js";
import type { Command } from "./command.js";
import { duCommand } from "./du-command.js";
import { lsCommand } from "./ls-command.js";
import { rmCommand } from "./rm-command.js";
import { serveCommand } from "./serve-command.js";
import { warmCommand } from "./warm-command.js";

export const commandTable: readonly Command[] = [
  checkConfigCommand,
  serveCommand,
  warmCommand,
  lsCommand,
  duCommand,
  rmCommand,
];
