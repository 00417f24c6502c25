import { describe, expect, test } from "vitest";
import { formatDuration, parseDuration } from "../src/index.js";

describe("durations in Go syntax", () => {
  test.each([
    ["24h", 86_400_000],
    ["30m", 1_800_000],
    ["1h30m", 5_400_000],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["500ms", 500],
    ["2s500ms", 2500],
    ["7d", 604_800_000],
    ["1000000us", 1000],
    ["0", 0],
    ["0s", 0],
  ])("%s is %i ms", (text, milliseconds) => {
    expect(parseDuration(text)).toBe(milliseconds);
  });

  test.each(["", "24", "24 h", "1y", "-5m", "h", "1h-30m", "forever"])(
    "%j is not a duration",
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  test("formatting gives back the usual spelling", () => {
    expect([0, 500, 1800_000, 5_400_000, 86_400_000].map(formatDuration)).toEqual([
      "0s",
      "500ms",
      "30m",
      "1h30m",
      "24h",
    ]);
  });
});
