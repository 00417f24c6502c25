export interface CapturedLog {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

type LogMethod = (fields: Record<string, unknown>, message: string) => void;

export interface CapturingLogger {
  entries: CapturedLog[];
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/**
 * A logger (the `(fields, message)` shape of this repository's libraries) that keeps what it is
 * told, to check what an operator would see in its logs.
 */
export function capturingLogger(): CapturingLogger {
  const entries: CapturedLog[] = [];
  const at =
    (level: string): LogMethod =>
    (fields, message) => {
      entries.push({ level, message, fields });
    };
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
