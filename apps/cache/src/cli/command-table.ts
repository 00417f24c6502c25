import { checkConfigCommand } from "./check-config-command.js";
import type { Command } from "./command.js";
import { serveCommand } from "./serve-command.js";
import { warmCommand } from "./warm-command.js";

export const commandTable: readonly Command[] = [checkConfigCommand, serveCommand, warmCommand];
