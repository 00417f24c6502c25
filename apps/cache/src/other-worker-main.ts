// The process of a worker other than the first (docs/adr/0036-worker-processes.md), loaded by
// main.ts instead of process-main.ts: it serves with the configuration the first worker sends
// over the IPC channel, so it loads neither the command line nor the configuration's parsers
// (docs/adr/0040-memory-per-worker.md).
import { exitCodes } from "./cli/cli-context.js";
import { watchProcessSignals } from "./process-signals.js";
import { serveAsOtherWorker } from "./workers/serve-other-worker.js";

const signals = watchProcessSignals();
let exitCode: number;
if (process.send === undefined) {
  process.stderr.write(
    "regmirror-cache: this process is a worker the first one starts (regmirror.workers); run `regmirror-cache serve` instead\n",
  );
  exitCode = exitCodes.usage;
} else {
  // Its first worker gone, it has no one to pass requests to: it drains and stops.
  process.once("disconnect", () => signals.trigger("disconnect"));
  exitCode = await serveAsOtherWorker({
    channel: {
      send: (message) => process.send?.(message),
      onMessage: (listener) => process.on("message", listener),
    },
    writeError: (text) => process.stderr.write(text),
    onShutdownSignal: signals.onShutdownSignal,
  });
}
process.exitCode = exitCode;
// Keep-alive sockets and timers must not keep a stopped worker up.
setTimeout(() => process.exit(exitCode), 1000).unref();
