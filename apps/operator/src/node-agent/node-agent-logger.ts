/** What the agent needs of a logger; a pino logger fits it. */
export interface NodeAgentLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: Record<string, unknown>): NodeAgentLogger;
}
