// A Logger that keeps what it is told, to check what an operator would see in the logs.
import type { Logger } from "../logger.js";

export interface CapturedLog {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields: Record<string, unknown>;
}

export interface CapturingLogger extends Logger {
  readonly entries: CapturedLog[];
}

export function capturingLogger(): CapturingLogger {
  const entries: CapturedLog[] = [];
  const at =
    (level: CapturedLog["level"]) =>
    (fields: Record<string, unknown>, message: string): void => {
      entries.push({ level, message, fields });
    };
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
