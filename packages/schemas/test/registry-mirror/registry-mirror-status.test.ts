import { describe, expect, test } from "vitest";
import { parseRegistryMirrorStatus, RegistryMirrorInvalidError } from "../../src/index.js";

const ready = {
  type: "Ready",
  status: "True",
  observedGeneration: 3,
  lastTransitionTime: "2026-11-22T00:20:00Z",
  reason: "MinimumReplicasAvailable",
  message: "2 of 2 replicas ready",
};

function pathsOf(status: unknown): string[] {
  try {
    parseRegistryMirrorStatus(status);
  } catch (error) {
    if (RegistryMirrorInvalidError.isInstance(error))
      return error.problems.map((problem) => problem.path);
    throw error;
  }
  throw new Error("the status was accepted");
}

describe("RegistryMirror status", () => {
  test("a complete status", () => {
    const status = {
      observedGeneration: 3,
      conditions: [
        ready,
        { ...ready, type: "Progressing", status: "False", reason: "RolloutComplete" },
        { ...ready, type: "Degraded", status: "False", reason: "AsExpected", message: "" },
      ],
      serviceAddress: "10.96.0.12:443",
      readyReplicas: 2,
      nodesConfigured: 5,
      nodesTotal: 6,
    };
    expect(parseRegistryMirrorStatus(status)).toEqual(status);
    expect(parseRegistryMirrorStatus({})).toEqual({});
  });

  test("invalid statuses name the field", () => {
    expect(pathsOf({ conditions: [{ ...ready, type: "Available" }] })).toEqual([
      "status.conditions[0].type",
    ]);
    expect(pathsOf({ conditions: [ready, ready] })).toEqual(["status.conditions[1].type"]);
    expect(pathsOf({ conditions: [{ ...ready, reason: "not camel case" }] })).toEqual([
      "status.conditions[0].reason",
    ]);
    expect(pathsOf({ conditions: [{ ...ready, lastTransitionTime: "yesterday" }] })).toEqual([
      "status.conditions[0].lastTransitionTime",
    ]);
    expect(pathsOf({ readyReplicas: -1, nodesConfigured: 1.5 })).toEqual([
      "status.readyReplicas",
      "status.nodesConfigured",
    ]);
    expect(pathsOf({ ready: true })).toEqual(["status.ready"]);
  });
});
