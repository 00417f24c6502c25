/**
 * `log.formatter: text`: each JSON log line rewritten as one `key=value` line for people, in the
 * shape distribution's (logrus) text formatter prints: `time=… level=info msg="…" key=value`.
 * Values with spaces, quotes or `=` are quoted; a list of plain values is joined with commas;
 * other nested values are written as JSON.
 */
import type { DestinationStream } from "pino";

const leadingKeys = ["time", "level", "msg"];

function isScalar(value: unknown): boolean {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function formatValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = value;
  else if (Array.isArray(value) && value.length > 0 && value.every(isScalar))
    text = value.join(",");
  else text = JSON.stringify(value);
  return text !== "" && /^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text);
}

/** One JSON log line as a text line; a line that is not JSON passes through unchanged. */
export function jsonLineToText(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const keys = [
    ...leadingKeys.filter((key) => key in record),
    ...Object.keys(record).filter((key) => !leadingKeys.includes(key)),
  ];
  return `${keys.map((key) => `${key}=${formatValue(record[key])}`).join(" ")}\n`;
}

/** Wraps a destination so the lines written to it are text lines. */
export function textLogDestination(destination: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      destination.write(jsonLineToText(line));
    },
  };
}
