// Tests of the rate limiters, on a manual clock.
import { createManualClock } from "@regmirror/core/testing";
import { describe, expect, it } from "vitest";
import { createPerKeyBackoff, createTokenBucket, maxOfRateLimiters } from "./rate-limiter.js";

describe("createPerKeyBackoff", () => {
  it("backs off each key on its own and forgets a key that succeeded", () => {
    const limiter = createPerKeyBackoff({ initialDelayMs: 5, maxDelayMs: 1_000 });
    expect([limiter.when("a"), limiter.when("a"), limiter.when("a")]).toEqual([5, 10, 20]);
    expect(limiter.when("b")).toBe(5);
    expect(limiter.failures("a")).toBe(3);
    limiter.forget("a");
    expect(limiter.failures("a")).toBe(0);
    expect(limiter.when("a")).toBe(5);
  });
});

describe("createTokenBucket", () => {
  it("lets a burst through at once, then spaces requests at the rate", () => {
    const clock = createManualClock();
    const bucket = createTokenBucket({ perSecond: 10, burst: 2, clock });
    expect([bucket.when("x"), bucket.when("y")]).toEqual([0, 0]);
    expect(bucket.when("z")).toBe(100);
    expect(bucket.when("w")).toBe(200);
  });

  it("refills with time, up to the burst", () => {
    const clock = createManualClock();
    const bucket = createTokenBucket({ perSecond: 10, burst: 2, clock });
    bucket.when("a");
    bucket.when("b");
    clock.advance(60_000);
    expect([bucket.when("c"), bucket.when("d"), bucket.when("e")]).toEqual([0, 0, 100]);
  });
});

describe("maxOfRateLimiters", () => {
  it("waits for the slower of per-key backoff and the global bucket", () => {
    const clock = createManualClock();
    const limiter = maxOfRateLimiters(
      createPerKeyBackoff({ initialDelayMs: 50 }),
      createTokenBucket({ perSecond: 1, burst: 1, clock }),
    );
    expect(limiter.when("a")).toBe(50);
    expect(limiter.when("b")).toBe(1_000);
    expect(limiter.failures("a")).toBe(1);
  });
});
