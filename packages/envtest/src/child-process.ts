// Starts a server process, keeps the end of its output, and makes sure it never outlives the test.
import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { EnvtestError } from "./errors.js";

export interface ServerProcess {
  pid: number;
  /** The last 64 KiB of its stdout and stderr. */
  output(): string;
  /** undefined while it runs. */
  exitCode(): number | null | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
let cleanupInstalled = false;

function killAll(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

/**
 * A test runner that ends a worker by a signal skips "exit" handlers: kill the servers on
 * SIGTERM / SIGINT too, then let the signal do what it would have done.
 */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once("exit", killAll);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      killAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

export function startServerProcess(command: string, args: string[], cwd: string): ServerProcess {
  installCleanup();
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let captured = "";
  const capture = (chunk: Buffer) => {
    captured = (captured + chunk.toString("utf8")).slice(-65_536);
  };
  child.stdout?.on("data", capture);
  child.stderr?.on("data", capture);
  let code: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    const finish = (exitCode: number | null) => {
      code = exitCode;
      running.delete(child);
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
    pid: child.pid ?? -1,
    output: () => captured,
    exitCode: () => code,
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

/** Polls `check` until it returns true; fails early, with the output, when the process died. */
export async function waitUntilReady(
  what: string,
  server: ServerProcess,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let delay = 20;
  while (Date.now() < deadline) {
    if (server.exitCode() !== undefined) {
      throw new EnvtestError(
        "PROCESS_EXITED",
        `${what} exited with code ${server.exitCode()} before it was ready:\n${server.output().trim()}`,
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
  throw new EnvtestError(
    "NOT_READY",
    `${what} was not ready within ${timeoutMs} ms${lastError instanceof Error ? ` (last error: ${lastError.message})` : ""}\n${server.output().trim()}`,
  );
}
