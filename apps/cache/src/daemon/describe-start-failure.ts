// Why a cache process could not start, as one line (its error message and Node's code, e.g.
// EADDRINUSE), said in the log and on standard error by `serve` and by the other workers.
import type { Logger } from "pino";

export function describeStartFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** The fatal log line and the line on standard error of a process that cannot start. */
export function reportStartFailure(
  error: unknown,
  logger: Logger,
  writeError: (text: string) => void,
  who: string,
): void {
  const why = describeStartFailure(error);
  logger.fatal({ error: why }, "the cache cannot start");
  writeError(`regmirror-cache ${who}: the cache cannot start: ${why}\n`);
}
