// Two processes on one storage's metadata: the one that stopped leaving marks is stood in for.
import { createManualClock } from "@regmirror/core/testing";
import { describe, expect, it } from "vitest";
import type { MetadataStore } from "../blob-store.js";
import { sweepMarks } from "./sweep-marks.js";

/** The metadata of one shared storage, in memory. */
function sharedMetadata(): MetadataStore {
  const records = new Map<string, string>();
  return {
    get: async (key) => records.get(key),
    put: async (key, value) => {
      records.set(key, value);
    },
    delete: async (key) => records.delete(key),
    async *list(prefix) {
      for (const key of records.keys()) if (key.startsWith(prefix)) yield key;
    },
  };
}

describe("sweep marks", () => {
  it("another process is silent after the given sweeps without its new mark, and no longer once it marks again", async () => {
    const metadata = sharedMetadata();
    const clock = createManualClock();
    const sweeper = sweepMarks(metadata, clock);
    const other = sweepMarks(metadata, clock);

    // While the sweeper marks at each of its sweeps, it is never silent.
    for (let sweep = 0; sweep < 5; sweep += 1) {
      await sweeper.mark();
      clock.advance(60_000);
      expect(await other.silentFor(2)).toBe(false);
    }
    // It stops: the other's second sweep in a row without a new mark finds it silent.
    expect(await other.silentFor(2)).toBe(false);
    expect(await other.silentFor(2)).toBe(true);
    // The other's own marks (it sweeps in its place now) are no sign of the sweeper.
    await other.mark();
    expect(await other.silentFor(2)).toBe(true);
    // The sweeper is back.
    await sweeper.mark();
    expect(await other.silentFor(2)).toBe(false);
  });

  it("with no mark at all (nobody swept yet), the same count of sweeps", async () => {
    const other = sweepMarks(sharedMetadata(), createManualClock());
    expect(await other.silentFor(2)).toBe(false);
    expect(await other.silentFor(2)).toBe(true);
  });
});
