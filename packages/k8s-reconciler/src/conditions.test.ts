// Tests of status conditions: set, find, remove, transition times.
import { describe, expect, it } from "vitest";
import {
  type Condition,
  findCondition,
  isConditionTrue,
  removeCondition,
  setCondition,
} from "./conditions.js";

const t0 = Date.parse("2026-01-01T00:00:00Z");
const ready = { type: "Ready", status: "False", reason: "Pending", message: "waiting" } as const;

describe("setCondition", () => {
  it("adds a condition stamped with the current time, second precision", () => {
    const conditions = setCondition(undefined, ready, t0 + 1_234);
    expect(conditions).toEqual([{ ...ready, lastTransitionTime: "2026-01-01T00:00:01Z" }]);
  });

  it("keeps lastTransitionTime when only the reason or message changes", () => {
    const first = setCondition([], ready, t0);
    const second = setCondition(
      first,
      { ...ready, reason: "StillPending", message: "2 of 3" },
      t0 + 60_000,
    );
    expect(findCondition(second, "Ready")).toEqual({
      ...ready,
      reason: "StillPending",
      message: "2 of 3",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    });
  });

  it("moves lastTransitionTime when the status flips", () => {
    const first = setCondition([], ready, t0);
    const second = setCondition(first, { ...ready, status: "True", reason: "Ready" }, t0 + 60_000);
    expect(findCondition(second, "Ready")?.lastTransitionTime).toBe("2026-01-01T00:01:00Z");
    expect(isConditionTrue(second, "Ready")).toBe(true);
  });

  it("leaves the other conditions and the input array as they were", () => {
    const other: Condition = {
      type: "Degraded",
      status: "False",
      reason: "Fine",
      message: "",
      lastTransitionTime: "x",
    };
    const input = [other, ...setCondition([], ready, t0)];
    const frozen = structuredClone(input);
    const output = setCondition(input, { ...ready, status: "True" }, t0 + 5_000);
    expect(input).toEqual(frozen);
    expect(output[0]).toBe(other);
    expect(output.map((condition) => condition.type)).toEqual(["Degraded", "Ready"]);
    expect(removeCondition(output, "Degraded").map((condition) => condition.type)).toEqual([
      "Ready",
    ]);
  });
});
