// Tests of the status and conditions computed from what the cluster reports.
import { describe, expect, it } from "vitest";
import { computeStatus, nodeProgress, workloadProgress } from "./mirror-status.js";

const now = Date.parse("2026-11-22T00:00:00Z");

describe("workloadProgress and nodeProgress", () => {
  it("count nothing until the controller has seen the current generation", () => {
    const workload = {
      metadata: { generation: 3 },
      status: { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2 },
    };
    expect(workloadProgress(workload, 2).current).toBe(false);
    expect(nodeProgress({ metadata: { generation: 2 }, status: {} })).toEqual({
      desired: 0,
      configured: 0,
      done: false,
    });
  });

  it("count a node as configured only when its agent runs the current state and is available", () => {
    const daemonSet = {
      metadata: { generation: 4 },
      status: {
        observedGeneration: 4,
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberAvailable: 2,
      },
    };
    expect(nodeProgress(daemonSet)).toEqual({ desired: 3, configured: 2, done: false });
  });
});

describe("computeStatus", () => {
  const base = {
    generation: 5,
    serviceAddress: "10.0.0.9:443",
    warnings: [],
    installation: "regmirror-system/regmirror-operator",
    upstreamCredentialsShared: {
      status: "False",
      reason: "PassThrough",
      message: "checked",
    } as const,
  };

  it("is Ready only when the cache and the nodes are", () => {
    const status = computeStatus(
      undefined,
      {
        ...base,
        workload: { desired: 2, ready: 2, current: true },
        nodes: { desired: 3, configured: 1, done: false },
      },
      now,
    );
    const conditions = status.conditions as { type: string; status: string; reason: string }[];
    expect(conditions.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "NodesNotConfigured",
    });
    expect(conditions.find((c) => c.type === "Progressing")?.status).toBe("True");
    expect(status).toMatchObject({ readyReplicas: 2, nodesConfigured: 1, nodesTotal: 3 });
  });

  it("keeps lastTransitionTime while a condition does not flip", () => {
    const inputs = {
      ...base,
      workload: { desired: 1, ready: 1, current: true },
      nodes: undefined,
    };
    const first = computeStatus(undefined, inputs, now).conditions as {
      lastTransitionTime: string;
    }[];
    const second = computeStatus(first as never, inputs, now + 60_000).conditions as {
      lastTransitionTime: string;
    }[];
    expect(second.map((c) => c.lastTransitionTime)).toEqual(first.map((c) => c.lastTransitionTime));
  });

  it("is Degraded with every warning's message", () => {
    const status = computeStatus(
      undefined,
      {
        ...base,
        workload: { desired: 1, ready: 1, current: true },
        nodes: undefined,
        warnings: [{ reason: "ImageSwapConflict", message: "docker.io is mapped by someone else" }],
      },
      now,
    );
    const degraded = (
      status.conditions as { type: string; status: string; reason: string; message: string }[]
    ).find((c) => c.type === "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "ImageSwapConflict" });
    expect(degraded?.message).toContain("docker.io");
  });

  it("waits for a load balancer's address: not Ready, no address, the reason says why", () => {
    const status = computeStatus(
      undefined,
      {
        ...base,
        serviceAddress: undefined,
        workload: { desired: 1, ready: 1, current: true },
        nodes: undefined,
      },
      now,
    );
    const ready = (status.conditions as { type: string; reason: string; message: string }[]).find(
      (c) => c.type === "Ready",
    );
    expect(ready).toMatchObject({ reason: "AddressPending" });
    expect(ready?.message).toContain("waiting for the load balancer's address");
    expect(status).not.toHaveProperty("serviceAddress");
  });

  it("names the owning installation in Claimed, and tells whether nodes map the masquerade host", () => {
    const inputs = {
      ...base,
      workload: { desired: 1, ready: 1, current: true },
      nodes: undefined,
    };
    const conditions = (masquerade?: { host: string; mapped: boolean; address: string }) =>
      computeStatus(undefined, { ...inputs, ...(masquerade ? { masquerade } : {}) }, now)
        .conditions as { type: string; status: string; reason: string; message: string }[];
    expect(conditions().find((c) => c.type === "Claimed")?.message).toContain(
      "regmirror-system/regmirror-operator",
    );
    expect(conditions().some((c) => c.type === "MasqueradeHostMapped")).toBe(false);
    expect(
      conditions({ host: "local.docker.io", mapped: true, address: "10.0.0.9" }).find(
        (c) => c.type === "MasqueradeHostMapped",
      ),
    ).toMatchObject({ status: "True", reason: "HostsFile" });
    const notMapped = conditions({
      host: "local.docker.io",
      mapped: false,
      address: "10.0.0.9",
    }).find((c) => c.type === "MasqueradeHostMapped");
    expect(notMapped).toMatchObject({ status: "False", reason: "NotMapped" });
    expect(notMapped?.message).toContain("add hosts-file to spec.nodeConfiguration.modes");
    expect(notMapped?.message).toContain("10.0.0.9");
  });
});
