// Starts a server process, keeps the end of its output, and makes sure it never outlives the test.

import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { EnvtestError } from "./errors.js";
import { registerExitCleanup } from "./exit-cleanup.js";

export interface ServerProcess {
  name: string;
  pid: number;
  /** The last 64 KiB of its stdout and stderr. */
  output(): string;
  /** undefined while it runs. */
  exitCode(): number | null | undefined;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** With `talk: true`: the process's stdin and stdout, for a line protocol with it. */
  streams?: { stdin: Writable; stdout: Readable };
}

export interface ServerProcessOptions {
  /** What to call it in errors. */
  name: string;
  /** The path of the executable. */
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Keep stdin open as a pipe and hand out stdin and stdout (`streams`). */
  talk?: boolean;
}

let running = 0;

/** How many processes started by `startServerProcess` are still running (for tests). */
export function runningServerCount(): number {
  return running;
}

/** True when `path` is a file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Spawns a long-running process; a process exit, SIGTERM or SIGINT kills it at the latest, so
 * nothing outlives a test that forgot `stop()` or crashed.
 */
export function startServerProcess(options: ServerProcessOptions): ServerProcess {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.talk ? "pipe" : "ignore", "pipe", "pipe"],
  });
  running += 1;
  const unregister = registerExitCleanup(() => child.kill("SIGKILL"));
  let captured = "";
  const capture = (chunk: Buffer) => {
    captured = (captured + chunk.toString("utf8")).slice(-65_536);
  };
  child.stdout?.on("data", capture);
  child.stderr?.on("data", capture);
  let code: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    const finish = (exitCode: number | null) => {
      if (code !== undefined) return;
      code = exitCode;
      running -= 1;
      unregister();
      resolve();
    };
    child.once("exit", (exitCode, signal) => finish(exitCode ?? (signal === null ? null : -1)));
    child.once("error", (error) => {
      captured += `\n${error.message}`;
      finish(-1);
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

/**
 * Polls `check` until it returns true, `process` dies, or the deadline passes (default 20 s);
 * the error carries the process's output, so a failed start says why.
 */
export async function waitUntilReady(
  what: string,
  check: () => Promise<boolean>,
  options: { process?: ServerProcess; timeoutMs?: number } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let delay = 20;
  while (Date.now() < deadline) {
    if (options.process?.exitCode() !== undefined) {
      throw new EnvtestError(
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
  throw new EnvtestError(
    "NOT_READY",
    `${what} was not ready within ${timeoutMs} ms${lastError instanceof Error ? ` (last error: ${lastError.message})` : ""}${output}`,
  );
}
