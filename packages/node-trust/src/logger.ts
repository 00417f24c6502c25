/**
 * The small logging interface this library writes to. A pino logger (or a child of one) fits it
 * as is; the default does nothing, so the library never prints on its own.
 */
export interface NodeTrustLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const ignore = (): void => {};

export const silentLogger: NodeTrustLogger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
};
