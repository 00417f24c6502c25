// The regmirror-cache command line, loaded by main.ts once the Node version is known to fit. The
// only module that touches the process: its arguments, environment, output streams, signals,
// TLS trust and exit code.
import { fork } from "node:child_process";
import { readFile } from "node:fs/promises";
import { runCli } from "./cli/run-cli.js";
import { watchProcessSignals } from "./process-signals.js";
import { trustOperatingSystemStore } from "./tls/operating-system-trust.js";
import { otherWorkerVariable } from "./workers/worker-environment.js";

const signals = watchProcessSignals();

const exitCode = await runCli(process.argv.slice(2), {
  writeOut: (text) => process.stdout.write(text),
  writeError: (text) => process.stderr.write(text),
  readTextFile: (path) => readFile(path, "utf8"),
  onShutdownSignal: signals.onShutdownSignal,
  environment: process.env,
  trustOperatingSystemStore,
  stdoutIsTerminal: process.stdout.isTTY === true,
  workers: {
    // The same program and arguments; the variable tells the copy it is not the first worker
    // (main.ts then loads other-worker-main.ts).
    startOther: () =>
      fork(process.argv[1] ?? "", process.argv.slice(2), {
        env: { ...process.env, [otherWorkerVariable]: "1" },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
  },
});
process.exitCode = exitCode;
// Upstream keep-alive sockets and timers of a finished command must not keep the process up.
if (signals.serving) setTimeout(() => process.exit(exitCode), 1000).unref();
