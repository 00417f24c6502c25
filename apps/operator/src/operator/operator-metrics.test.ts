// Tests of the operator's Prometheus text.
import { describe, expect, it } from "vitest";
import { renderOperatorMetrics } from "./operator-metrics.js";

describe("renderOperatorMetrics", () => {
  it("shows mirrors by owner, so another installation is visible", () => {
    const text = renderOperatorMetrics({
      installation: "regmirror-system/regmirror-operator",
      identity: "pod-1",
      leader: true,
      informersSynced: true,
      queueDepth: 0,
      mirrorsByOwner: {
        "regmirror-system/regmirror-operator": 2,
        "other/regmirror-operator": 1,
        "": 1,
      },
      reconciles: { success: 7, error: 1 },
      problems: [],
    });
    expect(text).toContain('regmirror_operator_mirrors{owner="other/regmirror-operator"} 1');
    expect(text).toContain('regmirror_operator_mirrors{owner=""} 1');
    expect(text).toContain("regmirror_operator_other_installations 1");
    expect(text).toContain('regmirror_operator_reconciles_total{result="error"} 1');
    expect(text).toContain("regmirror_operator_healthy 1");
    // Every sample line belongs to a declared metric.
    const declared = new Set(
      text
        .split("\n")
        .filter((line) => line.startsWith("# TYPE "))
        .map((line) => line.split(" ")[2]),
    );
    for (const line of text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
      expect(declared.has(line.split(/[{ ]/)[0])).toBe(true);
    }
  });

  it("escapes label values", () => {
    const text = renderOperatorMetrics({
      installation: 'a"b',
      identity: "x\\y",
      leader: false,
      informersSynced: false,
      queueDepth: 0,
      mirrorsByOwner: {},
      reconciles: { success: 0, error: 0 },
      problems: ["stuck"],
    });
    expect(text).toContain('installation="a\\"b",identity="x\\\\y"');
    expect(text).toContain("regmirror_operator_healthy 0");
  });
});
