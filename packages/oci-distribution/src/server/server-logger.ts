/**
 * The logger the server writes to: pino's argument order (`logger.warn(fields, message)`), so an
 * application can pass a pino child logger. Fields never hold request headers or bodies.
 */
export interface RegistryServerLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentServerLogger: RegistryServerLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
