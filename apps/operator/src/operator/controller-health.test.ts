// Tests of the stuck-controller checks behind /healthz, on a manual clock.
import { createManualClock } from "@regmirror/core/testing";
import { describe, expect, it } from "vitest";
import { createControllerHealth } from "./controller-health.js";

describe("createControllerHealth", () => {
  const setup = () => {
    const clock = createManualClock(0);
    const health = createControllerHealth({ stuckAfterMs: 60_000, clock });
    return { health, advance: (ms: number) => clock.advance(ms) };
  };

  it("never finds a standby stuck", () => {
    const { health, advance } = setup();
    advance(10 * 60_000);
    expect(health.problems({ reconciling: false, informersSynced: false, queueDepth: 5 })).toEqual(
      [],
    );
  });

  it("finds informers that have not synced long after the start", () => {
    const { health, advance } = setup();
    health.started();
    advance(59_000);
    expect(health.problems({ reconciling: true, informersSynced: false, queueDepth: 0 })).toEqual(
      [],
    );
    advance(2_000);
    expect(health.problems({ reconciling: true, informersSynced: false, queueDepth: 0 })).toEqual([
      "the informers have not synced 61s after start",
    ]);
  });

  it("finds a reconcile that runs too long, and forgets it once it ends", () => {
    const { health, advance } = setup();
    health.started();
    const finished = health.reconcileStarted("hub");
    advance(61_000);
    const inputs = { reconciling: true, informersSynced: true, queueDepth: 0 };
    expect(health.problems(inputs)).toEqual(["the reconcile of hub has been running for 61s"]);
    finished();
    expect(health.problems(inputs)).toEqual([]);
  });

  it("finds keys waiting while no reconcile starts", () => {
    const { health, advance } = setup();
    health.started();
    health.reconcileStarted("hub")();
    advance(61_000);
    expect(health.problems({ reconciling: true, informersSynced: true, queueDepth: 0 })).toEqual(
      [],
    );
    expect(health.problems({ reconciling: true, informersSynced: true, queueDepth: 3 })).toEqual([
      "3 queued reconciles and none started for 61s",
    ]);
  });
});
