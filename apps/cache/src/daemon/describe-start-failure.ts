// Why a cache process could not start, as one line (its error message and Node's code, e.g.
// EADDRINUSE): for the fatal log line and standard error of `serve` and of the other workers.

export function describeStartFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
