/**
 * Last-resort cleanup for a test process that ends without calling stop(): on exit, and on
 * SIGTERM / SIGINT (vitest ends its worker processes with SIGTERM, which skips "exit"
 * handlers). Cleanups must be synchronous: nothing asynchronous runs after "exit".
 */
const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      cleanup();
    } catch {
      // Best effort: one failed cleanup must not keep the others from running.
    }
  }
  cleanups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  // Restore the default behaviour (terminate by this signal) unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** Registers a synchronous cleanup; returns a function that unregisters it. */
export function registerExitCleanup(cleanup: () => void): () => void {
  if (!installed) {
    installed = true;
    process.once("exit", runAll);
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}
