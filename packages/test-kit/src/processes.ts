// Child processes the kit starts: found, tracked, awaited and stopped.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { TestKitError } from "./errors.js";
import { registerExitCleanup } from "./exit-cleanup.js";

/** What to tell a person when a binary is missing. */
const installHints: Record<string, string> = {
  "docker-registry": "apt-get install docker-registry",
  skopeo: "apt-get install skopeo",
  containerd: "apt-get install containerd",
  ctr: "apt-get install containerd",
  runc: "apt-get install runc",
  iptables: "apt-get install iptables",
  catatonit: "apt-get install catatonit",
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

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface TrackedProcess {
  name: string;
  pid: number;
  /** The last 64 KiB of what the process wrote to stderr and stdout. */
  output(): string;
  /** Set once the process has exited. */
  exitCode(): number | null | undefined;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** With `talk: true`: the process's stdin and stdout, for a line protocol with it. */
  streams?: { stdin: Writable; stdout: Readable };
}

const liveProcesses = new Set<ChildProcess>();

/** How many processes started by the kit are still running (for tests of the kit). */
export function liveProcessCount(): number {
  return liveProcesses.size;
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Keep stdin open as a pipe and hand out stdin and stdout (`streams`). */
  talk?: boolean;
}

/** Spawns a long-running process that the kit tracks and kills at exit at the latest. */
export function startTrackedProcess(options: StartProcessOptions): TrackedProcess {
  const binary = findBinary(options.command);
  const child = spawn(binary, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.talk ? "pipe" : "ignore", "pipe", "pipe"],
  });
  liveProcesses.add(child);
  // Last resort for a test that forgot stop() or crashed: nothing outlives the test process.
  const unregister = registerExitCleanup(() => child.kill("SIGKILL"));
  let captured = "";
  const capture = (chunk: Buffer) => {
    captured = (captured + chunk.toString("utf8")).slice(-65_536);
  };
  child.stdout?.on("data", capture);
  child.stderr?.on("data", capture);
  let code: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (exitCode, signal) => {
      code = exitCode ?? (signal === null ? null : -1);
      liveProcesses.delete(child);
      unregister();
      resolve();
    });
    child.once("error", (error) => {
      captured += `\n${error.message}`;
      code = -1;
      liveProcesses.delete(child);
      unregister();
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    name: options.name,
    pid: child.pid ?? -1,
    ...(options.talk && child.stdin !== null && child.stdout !== null
      ? { streams: { stdin: child.stdin, stdout: child.stdout } }
      : {}),
    output: () => captured,
    exitCode: () => code,
    exited,
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        if (code !== undefined) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
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

/**
 * Polls `check` until it returns true, `process` dies, or the deadline passes; the error
 * carries the process output so a failed start says why.
 */
export async function waitUntilReady(
  what: string,
  check: () => Promise<boolean>,
  options: { process?: TrackedProcess; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let lastError: unknown;
  let delay = 20;
  while (Date.now() < deadline) {
    if (options.process?.exitCode() !== undefined) {
      throw new TestKitError(
        "PROCESS_EXITED",
        `${what} exited with code ${options.process.exitCode()} before it was ready:\n${options.process.output().trim()}`,
      );
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
  const output = options.process ? `\n${options.process.output().trim()}` : "";
  throw new TestKitError(
    "NOT_READY",
    `${what} was not ready within ${options.timeoutMs ?? 20_000} ms${lastError instanceof Error ? ` (last error: ${lastError.message})` : ""}${output}`,
  );
}
