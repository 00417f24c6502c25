// The regmirror-operator binary's command table: operator and node-agent, each with --help.
import packageJson from "../package.json" with { type: "json" };
import type { CliCommand, CliRuntime } from "./cli-runtime.js";

interface CommandEntry {
  summary: string;
  /**
   * Imported only when run: the bundle splits each command into its own chunk, so the node agent
   * on every node does not load the Kubernetes client the operator needs (half its memory).
   */
  load(): Promise<CliCommand>;
}

/** Every command of the regmirror-operator binary. Add a command here, nowhere else. */
export const commands: Record<string, CommandEntry> = {
  "node-agent": {
    summary: "apply the desired node state (containerd, Docker, CRI-O, /etc/hosts) on this node",
    load: async () => (await import("./node-agent/node-agent-command.js")).nodeAgentCommand,
  },
  operator: {
    summary: "reconcile RegistryMirror resources (the cache, its exposure, TLS and node agents)",
    load: async () => (await import("./operator/operator-command.js")).operatorCommand,
  },
};

export function topLevelUsage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(
    ([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`,
  );
  return [
    "Usage: regmirror-operator <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Options:",
    "  -h, --help     this text",
    "  -V, --version  print the version of regmirror-operator and of Node",
    "",
    "Run `regmirror-operator <command> --help` for a command's options.",
  ].join("\n");
}

/** Runs one command line; resolves with the process exit code. */
export async function runCli(argv: string[], runtime: CliRuntime): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V" || name === "version") {
    runtime.writeOut(`regmirror-operator ${packageJson.version} (Node ${process.versions.node})\n`);
    return 0;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const write = name === undefined ? runtime.writeError : runtime.writeOut;
    write(`${topLevelUsage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (!entry) {
    runtime.writeError(`unknown command "${name}"\n\n${topLevelUsage()}\n`);
    return 2;
  }
  return await (await entry.load()).run(rest, runtime);
}
