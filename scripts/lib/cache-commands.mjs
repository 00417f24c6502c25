// The regmirror-cache commands `npm start -- <command> ...` passes through as they are; any other
// first argument is a FILE for `serve`. The cache's tests check this list against its command
// table (apps/cache/src/cli/command-table.ts).
export const cacheCommands = ["check-config", "serve", "warm", "ls", "du", "rm", "help", "version"];

/** The regmirror-cache command line for `npm start -- ARGS`. */
export function cacheCommandLine(args) {
  const [first] = args;
  if (first === undefined) return ["serve"];
  if (first.startsWith("-") || cacheCommands.includes(first)) return args;
  return ["serve", ...args];
}
