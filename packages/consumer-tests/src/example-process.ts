// Runs a compiled example with Node, collecting its output, until it exits or is stopped.
import { type ChildProcess, spawn } from "node:child_process";

export interface ExampleProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has ended (null when killed by a signal). */
  exited: Promise<number | null>;
}

export function startExample(
  script: string,
  cwd: string,
  env: Record<string, string> = {},
  args: string[] = [],
): ExampleProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  return { child, output: () => output, exited };
}

/** Runs an example to its end; the exit code and everything it printed. */
export async function runExample(
  script: string,
  cwd: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<{ code: number | null; output: string }> {
  const started = startExample(script, cwd, env, args);
  const code = await started.exited;
  return { code, output: started.output() };
}
