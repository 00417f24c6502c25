// `node dist/main.js serve CONFIG` as a child process, as the container image's entrypoint runs it,
// with its whole output kept for assertions on the logs.
import { type ChildProcess, spawn } from "node:child_process";
import { collectOutput, type ExitResult, eventually, runToExit } from "@regmirror/test-kit";

export interface CacheProcess {
  /** `http(s)://127.0.0.1:PORT` from the "listening" log line. */
  url: string;
  stdout(): string;
  stderr(): string;
  /** JSON log lines written so far. */
  logLines(): Record<string, unknown>[];
  exited: Promise<number | null>;
  signal(name: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after 20 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export type RunResult = ExitResult;

/** How long a start may take before the cache counts as hung. */
const startBoundMs = 100_000;

/** Runs the bundle to completion (check-config, a serve that fails to start, warm). */
export function runBundle(
  bundle: string,
  args: string[],
  cwd: string,
  env?: NodeJS.ProcessEnv,
): Promise<RunResult> {
  return runToExit(process.execPath, [bundle, ...args], { cwd, env, timeoutMs: 60_000 });
}

function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The URL of the "listening" line, in JSON or in text format (log.formatter: text). */
function listeningUrl(stdout: string): string | undefined {
  const json = parseLines(stdout).find((line) => line.msg === "listening");
  if (json !== undefined) return String(json.url);
  return /^.* msg=listening .*?\burl=(\S+)/m.exec(stdout)?.[1];
}

export async function startCacheProcess(
  bundle: string,
  args: string[],
  cwd: string,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<CacheProcess> {
  const child = spawn(process.execPath, [bundle, "serve", ...args], {
    cwd,
    env: options.env ?? process.env,
  });
  running.add(child);
  const { stdout, stderr } = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  const url = await new Promise<string>((resolve, reject) => {
    // Either its "listening" line or its exit ends the wait; the bound only catches a cache that
    // hangs, and is far above a start on a loaded machine (and below the hooks' 120 s).
    const deadline = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `the cache neither listened nor exited within ${startBoundMs / 1000} s:\n${stdout()}\n${stderr()}`,
        ),
      );
    }, startBoundMs);
    const look = () => {
      const listening = listeningUrl(stdout());
      if (listening !== undefined) {
        clearTimeout(deadline);
        child.stdout.off("data", look);
        resolve(listening);
      }
    };
    child.stdout.on("data", look);
    void exited.then((code) => {
      clearTimeout(deadline);
      reject(new Error(`the cache exited with ${code}:\n${stdout()}\n${stderr()}`));
    });
  });
  let stopping: Promise<number | null> | undefined;
  return {
    url,
    stdout,
    stderr,
    logLines: () => parseLines(stdout()),
    exited,
    signal: (name) => child.kill(name),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null) return child.exitCode;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopping;
    },
  };
}

/** A cache with `regmirror.workers` above 1: started, and resolved once another worker listens. */
export async function startCacheWithWorkers(
  bundle: string,
  configFile: string,
  cwd: string,
): Promise<CacheProcess> {
  const cache = await startCacheProcess(bundle, [configFile], cwd);
  try {
    await eventually(() => {
      if (!cache.logLines().some((line) => line.msg === "worker listening")) {
        throw new Error(`no other worker listened:\n${cache.stdout()}\n${cache.stderr()}`);
      }
    }, startBoundMs);
  } catch (error) {
    await cache.stop();
    throw error;
  }
  return cache;
}

/** Access-log lines of `worker`'s answers with `status` to requests for a `route` (e.g. "blob"). */
export function workerAnswers(
  cache: CacheProcess | undefined,
  worker: "first" | "other",
  route: string,
  status: number,
): Record<string, unknown>[] {
  return (cache?.logLines() ?? []).filter(
    (line) =>
      line.msg === "request" &&
      line.worker === worker &&
      line.route === route &&
      line.status === status,
  );
}
