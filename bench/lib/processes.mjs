// Child processes the bench starts: output goes to a log file (a pipe nobody drains would
// block the process), and every one is killed when the bench exits, also on failure.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const liveChildren = new Set();

/** SIGKILLs whatever is still running; safe to call from an 'exit' handler. */
export function killAllChildren() {
  for (const child of liveChildren) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
}

/**
 * Starts `command args` with stdout and stderr in `logPath`.
 * Returns { name, pid, logPath, exited, exitCode(), tail(), stop(graceMs) }.
 */
export function startProcess({ name, command, args, cwd, env, logPath }) {
  const logFd = openSync(logPath, "a");
  const child = spawn(command, args, {
    cwd,
    env: env ?? process.env,
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  liveChildren.add(child);
  let exitCode;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exitCode = code ?? signal;
      liveChildren.delete(child);
      resolve();
    });
    child.once("error", (error) => {
      exitCode = error.message;
      liveChildren.delete(child);
      resolve();
    });
  });
  const tail = () => {
    try {
      return readFileSync(logPath, "utf8").slice(-4000);
    } catch {
      return "";
    }
  };
  const stop = async (graceMs = 5000) => {
    if (exitCode !== undefined) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { name, pid: child.pid, logPath, exited, exitCode: () => exitCode, tail, stop };
}

/** Polls `probe` until it returns true; fails with the process's log tail when it exits or times out. */
export async function waitUntilReady(process_, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process_.exitCode() !== undefined) {
      throw new Error(
        `${process_.name} exited (${process_.exitCode()}) before it was ready:\n${process_.tail()}`,
      );
    }
    if (await probe().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${process_.name} not ready after ${timeoutMs} ms:\n${process_.tail()}`);
}

/** Runs a command to completion; resolves { code, stdout, stderr, seconds }. */
export function runCommand(command, args, { cwd, env, timeoutMs = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, env: env ?? process.env });
    liveChildren.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(error);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ code: code ?? signal, stdout, stderr, seconds });
    });
  });
}
