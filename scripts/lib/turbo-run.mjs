// Runs turbo for the test command: its output goes through to ours as it comes, and the last
// lines of each test task's output are kept, so a failure can be shown again at the end, where
// a CI log that shows only its tail still has it.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { stripVTControlCharacters } from "node:util";

/** A stack frame inside a dependency (vitest's own, mostly): noise in a short account. */
export const dependencyFrame = /^\s*(at |❯ ).*node_modules[\\/]/;

/** Keeps the last `limit` lines of each turbo task whose prefix is `<package>:<task>: `. */
export function createTaskTails(task, limit) {
  const tails = new Map();
  return {
    add(line) {
      const plain = stripVTControlCharacters(line);
      const marker = plain.indexOf(`:${task}: `);
      if (marker <= 0) return;
      const name = plain.slice(0, marker);
      const text = plain.slice(marker + task.length + 3);
      if (/\s/.test(name) || dependencyFrame.test(text)) return;
      const lines = tails.get(name) ?? [];
      lines.push(text);
      if (lines.length > limit) lines.shift();
      tails.set(name, lines);
    },
    /** The kept lines of `packageName`'s task, oldest first. */
    of(packageName) {
      return tails.get(packageName) ?? [];
    },
  };
}

/**
 * The packages that ran `task` in turbo's run summary (`--summarize`), with the task's exit code
 * (undefined when it has none); undefined without a summary.
 */
export function taskExitCodes(summary, task) {
  if (summary === undefined) return undefined;
  const codes = new Map();
  for (const entry of summary.tasks ?? []) {
    if (entry.task !== task) continue;
    const code = entry.execution?.exitCode;
    codes.set(entry.package, typeof code === "number" ? code : undefined);
  }
  return codes;
}

/**
 * Runs `turbo run ... --summarize` and resolves with its exit status, the last `tailLines` lines
 * of every `task` task's output, and those tasks' exit codes from turbo's summary.
 */
export function runTurbo(args, { cwd, env, task, tailLines }) {
  const tails = createTaskTails(task, tailLines);
  let summaryPath;
  return new Promise((resolve, reject) => {
    const child = spawn("pnpm", ["exec", "turbo", ...args, "--summarize"], {
      cwd,
      env,
      stdio: ["inherit", "pipe", "inherit"],
    });
    child.on("error", (error) =>
      reject(new Error(`could not start turbo: ${error.message}`, { cause: error })),
    );
    const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on("line", (line) => {
      process.stdout.write(`${line}\n`);
      tails.add(line);
      const summary = /^\s*Summary:\s+(\S+\.json)\s*$/.exec(stripVTControlCharacters(line));
      if (summary) summaryPath = summary[1];
    });
    child.on("close", (status) => {
      const summary =
        summaryPath && existsSync(summaryPath)
          ? JSON.parse(readFileSync(summaryPath, "utf8"))
          : undefined;
      resolve({ status: status ?? 1, tails, exitCodes: taskExitCodes(summary, task) });
    });
  });
}
