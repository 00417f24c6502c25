// Tests of exponential backoff with jitter.
import { describe, expect, it } from "vitest";
import { createBackoff, exponentialDelay } from "./backoff.js";
import { ReconcilerError } from "./errors.js";

describe("exponentialDelay", () => {
  it("doubles from the initial delay up to the cap", () => {
    const delays = [1, 2, 3, 4, 5, 6].map((failures) => exponentialDelay(failures, 100, 1_000, 2));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("stays at the cap after thousands of failures instead of overflowing", () => {
    expect(exponentialDelay(5_000, 100, 30_000, 2)).toBe(30_000);
  });
});

describe("createBackoff", () => {
  it("spreads each delay over [d * (1 - jitter), d]", () => {
    const low = createBackoff({ initialDelayMs: 1_000, jitter: 0.5, random: () => 0.999_999 });
    const high = createBackoff({ initialDelayMs: 1_000, jitter: 0.5, random: () => 0 });
    expect(low.next()).toBe(500);
    expect(high.next()).toBe(1_000);
    expect(high.next()).toBe(2_000);
  });

  it("starts over after reset()", () => {
    const backoff = createBackoff({ initialDelayMs: 10, jitter: 0 });
    backoff.next();
    backoff.next();
    expect(backoff.failures).toBe(2);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.next()).toBe(10);
  });

  it("rejects a jitter outside 0..1 with an error that names it", () => {
    expect(() => createBackoff({ jitter: 2 })).toThrowError(/jitter must be in 0\.\.1/);
    expect(() => createBackoff({ jitter: 2 })).toThrowError(ReconcilerError);
  });
});
