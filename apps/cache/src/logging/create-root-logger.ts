/**
 * The daemon's one pino root logger. It writes JSON (or, with log.formatter text, key=value)
 * lines to a destination synchronously
 * (stdout in production): no worker transports, so the production bundle needs nothing beside it
 * and no line is lost at exit. Secrets are redacted by path as a second line of defence; the
 * components never put credentials into log fields in the first place.
 */
import type { LogLevel } from "@regmirror/schemas";
import { type DestinationStream, type Logger, pino } from "pino";
import { textLogDestination } from "./text-log-format.js";

export type RootLogger = Logger;

/** Field paths whose values are replaced by `<redacted>` wherever they appear. */
export const redactedLogPaths = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "password",
  "*.password",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "httpSecret",
  "*.httpSecret",
  "credentials",
  "*.credentials",
];

export interface RootLoggerOptions {
  level: LogLevel;
  /** `log.formatter`: JSON lines (the default) or text lines for people. */
  format?: "json" | "text";
  /** `log.fields` of the configuration: added to every line. */
  fields?: Readonly<Record<string, string | number | boolean>>;
  /** Where lines go; default: `fileDescriptor`, written synchronously. */
  destination?: DestinationStream;
  /** 1 (stdout, the default) or 2 (stderr, for commands whose stdout is their output). */
  fileDescriptor?: 1 | 2;
}

export function createRootLogger(options: RootLoggerOptions): RootLogger {
  const lines =
    options.destination ?? pino.destination({ dest: options.fileDescriptor ?? 1, sync: true });
  const destination = options.format === "text" ? textLogDestination(lines) : lines;
  return pino(
    {
      level: options.level,
      base: { service: "regmirror-cache", ...options.fields },
      redact: { paths: redactedLogPaths, censor: "<redacted>" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
