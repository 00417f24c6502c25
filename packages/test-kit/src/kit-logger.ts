// The kit's own log: JSON lines on stderr, for what a test run should show (a start retried).
import type { Logger } from "@regmirror/core";

const writeAt =
  (level: string) =>
  (fields: Record<string, unknown>, message: string): void => {
    const line = { level, time: new Date().toISOString(), component: "test-kit", msg: message };
    process.stderr.write(`${JSON.stringify({ ...line, ...fields })}\n`);
  };

/** The default logger of the kit's start functions. */
export const kitLogger: Logger = {
  debug: () => {},
  info: writeAt("info"),
  warn: writeAt("warn"),
  error: writeAt("error"),
};
