// Child processes the kit starts: found, tracked, awaited and stopped.
import { type ChildProcessByStdio, execFile, spawn } from "node:child_process";
import { delimiter, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { ServerProcess, ServerProcessOptions } from "@regmirror/envtest";
import {
  isExecutable,
  registerExitCleanup,
  runningServerCount,
  startServerProcess,
} from "@regmirror/envtest";
import { TestKitError } from "./errors.js";

export { waitUntilReady } from "@regmirror/envtest";

/** What to tell a person when a binary is missing. */
const installHints: Record<string, string> = {
  "docker-registry": "apt-get install docker-registry",
  skopeo: "apt-get install skopeo",
  containerd: "apt-get install containerd",
  ctr: "apt-get install containerd",
  runc: "apt-get install runc",
  iptables: "apt-get install iptables",
  catatonit: "apt-get install catatonit",
  dnsmasq: "apt-get install dnsmasq-base",
};

/** Absolute path of `name` on PATH; throws BINARY_MISSING saying what to install. */
export function findBinary(name: string, env: NodeJS.ProcessEnv = process.env): string {
  if (name.includes("/")) {
    if (isExecutable(name)) return name;
  } else {
    for (const directory of (env.PATH ?? "").split(delimiter)) {
      if (directory === "") continue;
      const candidate = join(directory, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  const hint = installHints[name] ?? `install ${name} and put it on PATH`;
  throw new TestKitError("BINARY_MISSING", `${name} not found on PATH: ${hint}`);
}

/** A long-running process the kit started (see `startTrackedProcess`). */
export type TrackedProcess = ServerProcess;

export type StartProcessOptions = ServerProcessOptions;

/** How many processes started by the kit are still running (for tests of the kit). */
export const liveProcessCount = runningServerCount;

/**
 * Spawns a long-running process (`command` found on PATH, or a path) that the kit tracks and
 * kills at exit at the latest.
 */
export function startTrackedProcess(options: StartProcessOptions): TrackedProcess {
  return startServerProcess({ ...options, command: findBinary(options.command) });
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; a non-zero exit throws COMMAND_FAILED with its stderr. */
export async function runCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<CommandResult> {
  const binary = findBinary(command);
  return await new Promise<CommandResult>((resolve, reject) => {
    execFile(
      binary,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new TestKitError(
              "COMMAND_FAILED",
              `${command} ${args.join(" ")} failed (${error.code ?? error.signal ?? "error"}): ${stderr.trim() || error.message}`,
              { cause: error },
            ),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

export interface ExitResult {
  /** null when a signal ended it (e.g. the timeout's SIGKILL). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Everything a child process writes to stdout and stderr, as text so far. */
export function collectOutput(child: ChildProcessByStdio<null | Writable, Readable, Readable>): {
  stdout(): string;
  stderr(): string;
} {
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

/**
 * Runs `command` (a path) to its end and gives back its exit code and output whatever the code
 * is: for tests that check a failing run. SIGKILL after `timeoutMs` (default 120 s), and at the
 * test process's exit at the latest.
 */
export function runToExit(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ExitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const unregister = registerExitCleanup(() => child.kill("SIGKILL"));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    const output = collectOutput(child);
    child.once("error", (error) => {
      clearTimeout(timer);
      unregister();
      reject(new TestKitError("COMMAND_FAILED", `could not run ${command}: ${error.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      unregister();
      resolve({
        exitCode: signal === null ? code : null,
        stdout: output.stdout(),
        stderr: output.stderr(),
      });
    });
  });
}
