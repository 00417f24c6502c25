/**
 * The logger the pull-through storage writes to: pino's argument order
 * (`logger.warn(fields, message)`), so the daemon can pass a pino child logger. Fields never
 * hold credentials, request headers or bodies.
 */
export interface PullThroughLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentPullThroughLogger: PullThroughLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Time source for tag freshness; tests pass a controlled clock. */
export interface PullThroughClock {
  now(): number;
}

export const systemPullThroughClock: PullThroughClock = { now: () => Date.now() };

/** `Name: message` of anything thrown, for log fields. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
