// The regmirror-cache command line, loaded by main.ts once the Node version is known to fit. The
// only module that touches the process: its arguments, environment, output streams, signals,
// TLS trust and exit code.
import { fork } from "node:child_process";
import { readFile } from "node:fs/promises";
import { runCli } from "./cli/run-cli.js";
import { trustOperatingSystemStore } from "./tls/operating-system-trust.js";

// `regmirror-cache check-config x.yml | head` closes the pipe early: that ends the output, it is
// not a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? 0);
  });
}

/** Set in the environment of the workers the first one starts (docs/adr/0036-worker-processes.md). */
const otherWorkerVariable = "REGMIRROR_CACHE_OTHER_WORKER";

const shutdownListeners: ((signal: string) => void)[] = [];
let firstSignalAt: number | undefined;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    // The first signal drains; a second one means "now". Ctrl-C reaches every process of the
    // terminal's group and a wrapper (npm start) forwards it too: copies within a second are one.
    if (firstSignalAt !== undefined) {
      if (Date.now() - firstSignalAt > 1000) process.exit(130);
      return;
    }
    firstSignalAt = Date.now();
    for (const listener of shutdownListeners) listener(signal);
  });
}

// Another worker whose first worker is gone has no one to pass requests to: it drains and stops.
if (process.env[otherWorkerVariable] === "1") {
  process.once("disconnect", () => {
    for (const listener of shutdownListeners) listener("disconnect");
  });
}

const exitCode = await runCli(process.argv.slice(2), {
  writeOut: (text) => process.stdout.write(text),
  writeError: (text) => process.stderr.write(text),
  readTextFile: (path) => readFile(path, "utf8"),
  onShutdownSignal: (listener) => shutdownListeners.push(listener),
  environment: process.env,
  trustOperatingSystemStore,
  stdoutIsTerminal: process.stdout.isTTY === true,
  workers: {
    // The same program and arguments; the variable tells the copy it is not the first worker.
    startOther: () =>
      fork(process.argv[1] ?? "", process.argv.slice(2), {
        env: { ...process.env, [otherWorkerVariable]: "1" },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
    ...(process.env[otherWorkerVariable] === "1" && process.send !== undefined
      ? {
          channel: {
            send: (message) => process.send?.(message),
            onMessage: (listener) => process.on("message", listener),
          },
        }
      : {}),
  },
});
process.exitCode = exitCode;
// Upstream keep-alive sockets and timers of a finished command must not keep the process up.
if (shutdownListeners.length > 0) setTimeout(() => process.exit(exitCode), 1000).unref();
