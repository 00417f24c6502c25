import type { CliContext } from "./cli-context.js";

/** One `regmirror-cache <name>` command. Add a command by adding an entry to command-table.ts. */
export interface Command {
  readonly name: string;
  /** The arguments, as shown in usage lines: `FILE`, `[FILE]`, `IMAGE...`. */
  readonly arguments: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The text of `regmirror-cache <name> --help` after the usage line. */
  readonly help: string;
  /**
   * Runs the command with the arguments after its name (`--help` is handled before) and
   * returns the exit code. Absent for a command that is planned but not in this build.
   */
  readonly run?: (argv: readonly string[], context: CliContext) => Promise<number>;
}
