/**
 * Set in the environment of the workers the first one starts (docs/adr/0036-worker-processes.md):
 * main.ts then loads other-worker-main.ts, which takes its configuration from the first worker
 * (docs/adr/0040-memory-per-worker.md).
 */
export const otherWorkerVariable = "REGMIRROR_CACHE_OTHER_WORKER";
