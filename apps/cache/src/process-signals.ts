// What every regmirror-cache process does with its own process object (process-main.ts for the
// command line, other-worker-main.ts for a worker other than the first): a closed output pipe
// ends it quietly, and SIGTERM / SIGINT go to the listeners the running command registered.

export interface ShutdownSignals {
  /** Calls `listener` once, on the first SIGTERM / SIGINT (or `trigger`). */
  onShutdownSignal(listener: (signal: string) => void): void;
  /** True once a command registered a listener: it serves, so the process must not linger. */
  readonly serving: boolean;
  /** Starts the shutdown as a signal would (a worker whose first worker is gone). */
  trigger(reason: string): void;
}

export function watchProcessSignals(): ShutdownSignals {
  // `regmirror-cache check-config x.yml | head` closes the pipe early: that ends the output, it
  // is not a crash.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
  const listeners: ((signal: string) => void)[] = [];
  let firstSignalAt: number | undefined;
  const trigger = (signal: string) => {
    // The first signal drains; a second one means "now". Ctrl-C reaches every process of the
    // terminal's group and a wrapper (npm start) forwards it too: copies within a second are one.
    if (firstSignalAt !== undefined) {
      if (Date.now() - firstSignalAt > 1000) process.exit(130);
      return;
    }
    firstSignalAt = Date.now();
    for (const listener of listeners) listener(signal);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => trigger(signal));
  return {
    onShutdownSignal: (listener) => listeners.push(listener),
    get serving() {
      return listeners.length > 0;
    },
    trigger,
  };
}
