import { buildInfo } from "../build-info.js";
import { type CliContext, exitCodes } from "./cli-context.js";
import type { Command } from "./command.js";
import { commandTable } from "./command-table.js";

export const programName = "regmirror-cache";

function isHelpFlag(argument: string | undefined): boolean {
  return argument === "--help" || argument === "-h";
}

export function formatProgramHelp(commands: readonly Command[]): string {
  const width = Math.max(
    ...commands.map((command) => `${command.name} ${command.arguments}`.length),
  );
  const lines = commands.map(
    (command) => `  ${`${command.name} ${command.arguments}`.padEnd(width)}  ${command.summary}`,
  );
  return `Usage: ${programName} <command> [options]

The regmirror pull-through cache for OCI / Docker registries.

Commands:
${lines.join("\n")}

Options:
  -h, --help     this text
  -V, --version  print the version of ${programName} and of Node

Run '${programName} <command> --help' for the options of a command.
`;
}

export function formatVersion(): string {
  return `${programName} ${buildInfo.version} (Node ${buildInfo.nodeVersion})\n`;
}

export function formatCommandHelp(command: Command): string {
  return `Usage: ${programName} ${command.name} ${command.arguments}\n\n${command.help}\n`;
}

/**
 * Runs one command line (the arguments after the program name) and returns the exit code:
 * 0 success, 1 the input is wrong, 2 the command line is wrong or the command is unavailable.
 */
export async function runCli(
  argv: readonly string[],
  context: CliContext,
  commands: readonly Command[] = commandTable,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V" || name === "version") {
    context.writeOut(formatVersion());
    return exitCodes.ok;
  }
  if (name === undefined || isHelpFlag(name) || name === "help") {
    const topic =
      name === "help" ? commands.find((command) => command.name === rest[0]) : undefined;
    context.writeOut(topic ? formatCommandHelp(topic) : formatProgramHelp(commands));
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    context.writeError(
      `${programName}: unknown command "${name}"\n\n${formatProgramHelp(commands)}`,
    );
    return exitCodes.usage;
  }
  if (rest.some(isHelpFlag)) {
    context.writeOut(formatCommandHelp(command));
    return exitCodes.ok;
  }
  if (command.run === undefined) {
    context.writeError(`${programName} ${command.name}: not available in this build yet\n`);
    return exitCodes.usage;
  }
  return command.run(rest, context);
}
