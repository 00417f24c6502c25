/**
 * The one logger interface regmirror's libraries write to. Its shape is pino's
 * `logger.warn(fields, message)`, so an application passes a pino (child) logger as it is; the
 * default says nothing, so a library never prints on its own. Fields never hold credentials,
 * request headers or bodies.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const ignore = (): void => {};

/** The default logger: says nothing. */
export const silentLogger: Logger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
});

/**
 * `Name: message` of anything thrown, for a log field, with the cause's message when it adds
 * something (fetch says only "fetch failed"; ECONNREFUSED or the TLS error is in its cause).
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const described = `${error.name}: ${error.message}`;
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${described} (${cause})` : described;
}
