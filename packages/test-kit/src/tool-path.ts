// Where the Go-built test tools are (~/.cache/regmirror/tools).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { TestKitError } from "./errors.js";

interface GoToolEntry {
  name: string;
  version: string;
  /** What the entry builds into its bin/ directory; default its name. */
  commands?: string[];
}

/** Walks up from this module to the directory holding scripts/go-tools.json (the repo root). */
function findGoToolsFile(): string {
  let directory = import.meta.dirname;
  for (;;) {
    const candidate = join(directory, "scripts", "go-tools.json");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(directory);
    if (parent === directory) {
      throw new TestKitError(
        "TOOL_NOT_BUILT",
        `scripts/go-tools.json not found above ${import.meta.dirname}; the test kit must run inside the regmirror repository`,
      );
    }
    directory = parent;
  }
}

/** The same rule as scripts/lib/paths.mjs: $REGMIRROR_CACHE_DIR, else $XDG_CACHE_HOME/regmirror, else ~/.cache/regmirror. */
export function cacheDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return env.REGMIRROR_CACHE_DIR ?? join(base, "regmirror");
}

const commandsOf = (entry: GoToolEntry) => entry.commands ?? [entry.name];

/**
 * Path of a command built by the test command: `<cache>/tools/<name>-<version>/bin/<command>`,
 * where `<name>` is the scripts/go-tools.json entry that lists the command (e.g. `kubelet` is
 * built by the `kubernetes` entry; an entry without `commands` builds the command named like it).
 */
export function toolPath(name: string): string {
  const file = findGoToolsFile();
  const tools = (JSON.parse(readFileSync(file, "utf8")) as { tools: GoToolEntry[] }).tools;
  const tool = tools.find((entry) => commandsOf(entry).includes(name));
  if (tool === undefined) {
    throw new TestKitError(
      "BAD_INPUT",
      `tool "${name}" is not listed in ${file}; add it there (known: ${tools.flatMap(commandsOf).join(", ") || "none"})`,
    );
  }
  const path = join(cacheDirectory(), "tools", `${tool.name}-${tool.version}`, "bin", name);
  if (!existsSync(path)) {
    throw new TestKitError(
      "TOOL_NOT_BUILT",
      `${name} ${tool.version} is not built yet (${path} is missing): run \`npm test\` once from the repository root to build it, or \`pnpm exec node -e 'import("./scripts/lib/go-tools.mjs").then(m=>m.ensureGoTools(process.env))'\``,
    );
  }
  return path;
}
