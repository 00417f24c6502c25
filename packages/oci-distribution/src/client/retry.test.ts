// Tests of retries and Retry-After.
import { describe, expect, it } from "vitest";
import { parseRetryAfter, resolveRetryOptions, retryDelay } from "./retry.js";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-22T00:00:00Z");

  it("reads delay-seconds", () => {
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter(" 7 ", now)).toBe(7000);
  });

  it("reads an HTTP-date relative to now, and a past date as 0", () => {
    expect(parseRetryAfter("Sun, 22 Nov 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Sat, 21 Nov 2026 23:00:00 GMT", now)).toBe(0);
  });

  it("ignores what it cannot read", () => {
    for (const value of [undefined, "", "-1", "1.5", "soon", "12abc"]) {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    }
  });
});

describe("retryDelay", () => {
  const options = resolveRetryOptions({
    retries: 5,
    minDelayMs: 100,
    maxDelayMs: 1000,
    maxRetryAfterMs: 2000,
  });

  it("grows exponentially up to the cap, with full jitter", () => {
    const highest = () => 0.999999;
    expect(retryDelay(1, options, undefined, highest)).toBe(99);
    expect(retryDelay(3, options, undefined, highest)).toBe(399);
    expect(retryDelay(10, options, undefined, highest)).toBe(999);
    expect(retryDelay(3, options, undefined, () => 0)).toBe(0);
  });

  it("uses Retry-After instead, and gives up when it is too long", () => {
    expect(retryDelay(1, options, 1500, () => 0.5)).toBe(1500);
    expect(retryDelay(1, options, 2500, () => 0.5)).toBeUndefined();
  });

  it("takes null as the defaults, as JSON configuration gives it", () => {
    expect(resolveRetryOptions(null as never)).toEqual(resolveRetryOptions(undefined));
  });

  it("refuses nonsense options", () => {
    expect(() => resolveRetryOptions({ retries: -1 })).toThrow(/retry.retries/);
    expect(() => resolveRetryOptions({ maxDelayMs: Number.NaN })).toThrow(/retry.maxDelayMs/);
  });
});
