import { createManualClock } from "@regmirror/core/testing";
import { describe, expect, it } from "vitest";
import { CircuitBreaker, type UpstreamEndpointHealth } from "./circuit-breaker.js";

function breaker(failures: number) {
  const clock = createManualClock(1_000);
  const opened: UpstreamEndpointHealth[] = [];
  const closed: number[] = [];
  const subject = new CircuitBreaker({
    upstream: "hub",
    endpoint: "https://registry.example",
    failures,
    openForMs: 30_000,
    clock,
    onOpen: (health) => opened.push(health),
    onClose: (_health, downForMs) => closed.push(downForMs),
  });
  return { subject, opened, closed, advance: (ms: number) => clock.advance(ms) };
}

describe("CircuitBreaker (a controlled clock)", () => {
  it("opens after the failures in a row, refuses requests while open, and says so once", () => {
    const { subject, opened } = breaker(3);
    subject.tryAcquire()?.failed("network", "refused");
    subject.tryAcquire()?.answered(12); // an answer resets the count
    for (let attempt = 0; attempt < 3; attempt += 1) {
      subject.tryAcquire()?.failed("timeout", "no answer");
    }
    expect(subject.tryAcquire()).toBeUndefined();
    expect(opened).toHaveLength(1);
    expect(subject.health()).toMatchObject({
      state: "open",
      up: false,
      consecutiveFailures: 3,
      lastError: { kind: "timeout", message: "no answer", at: 1_000 },
      lastLatencyMs: 12,
      openedAt: 1_000,
      retryAt: 31_000,
    });
  });

  it("lets one probe through after openFor: a failure keeps it open, an answer closes it", () => {
    const { subject, opened, closed, advance } = breaker(1);
    subject.tryAcquire()?.failed("network", "refused");
    advance(30_000);
    const probe = subject.tryAcquire();
    expect(probe).toBeDefined();
    expect(subject.health().state).toBe("half-open");
    expect(subject.tryAcquire()).toBeUndefined(); // one probe at a time
    probe?.failed("network", "refused again");
    expect(subject.health()).toMatchObject({ state: "open", retryAt: 61_000 });
    expect(opened).toHaveLength(1);

    advance(30_000);
    subject.tryAcquire()?.answered(40);
    expect(subject.health()).toMatchObject({ state: "closed", up: true, consecutiveFailures: 0 });
    expect(closed).toEqual([60_000]);
    expect(subject.tryAcquire()).toBeDefined();
  });

  it("a probe the caller abandoned lets the next request probe", () => {
    const { subject, advance } = breaker(1);
    subject.tryAcquire()?.failed("network", "refused");
    advance(30_000);
    subject.tryAcquire()?.abandoned();
    expect(subject.tryAcquire()).toBeDefined();
  });

  it("never opens with failures 0, and a permit counts once", () => {
    const { subject } = breaker(0);
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const permit = subject.tryAcquire();
      permit?.failed("network", "refused");
      permit?.answered(1);
    }
    expect(subject.health()).toMatchObject({ state: "closed", consecutiveFailures: 10 });
  });
});
