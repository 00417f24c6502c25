/**
 * The logger the client writes to: the argument order of pino (`logger.debug(fields, message)`)
 * so an application can pass a pino child logger. Fields never hold credentials, tokens or
 * query strings (pre-signed blob URLs carry signatures there).
 */
export interface RegistryClientLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: RegistryClientLogger = {
  debug() {},
  warn() {},
};

/** `https://host/path` without query, fragment or user info: safe to log and to put in errors. */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
