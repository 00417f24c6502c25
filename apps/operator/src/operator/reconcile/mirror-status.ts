// A mirror's status and conditions from what the cluster reports about its objects.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import {
  type Condition,
  type ConditionInput,
  removeCondition,
  setCondition,
} from "@regmirror/k8s-reconciler";
import type { AccessCondition } from "../render/client-auth.js";

// The status the operator writes: conditions that tell the truth. Ready only when the cache
// pods are ready (at the current revision) and every node agent runs the current node state.

export interface WorkloadProgress {
  desired: number;
  ready: number;
  /** The workload controller has seen the latest spec and rolled every replica to it. */
  current: boolean;
}

export interface NodeProgress {
  /** Nodes the DaemonSet should run on. */
  desired: number;
  /** Nodes running the current node state and reporting ready. */
  configured: number;
  done: boolean;
}

interface WorkloadStatusFields {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
}

interface DaemonSetStatusFields {
  observedGeneration?: number;
  desiredNumberScheduled?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberReady?: number;
}

export function workloadProgress(workload: KubeObject, desired: number): WorkloadProgress {
  const status = (workload.status ?? {}) as WorkloadStatusFields;
  const generation = workload.metadata?.generation ?? 0;
  const ready = status.readyReplicas ?? 0;
  const current =
    (status.observedGeneration ?? -1) >= generation &&
    (status.updatedReplicas ?? 0) >= desired &&
    ready >= desired;
  return { desired, ready, current };
}

export function nodeProgress(daemonSet: KubeObject): NodeProgress {
  const status = (daemonSet.status ?? {}) as DaemonSetStatusFields;
  const generation = daemonSet.metadata?.generation ?? 0;
  // Until the DaemonSet controller has looked at this generation, no node counts.
  const seen = status.observedGeneration !== undefined && status.observedGeneration >= generation;
  const desired = status.desiredNumberScheduled ?? 0;
  const configured = seen
    ? Math.min(status.updatedNumberScheduled ?? 0, status.numberAvailable ?? 0)
    : 0;
  return { desired, configured, done: seen && configured >= desired };
}

export interface StatusInputs {
  generation: number;
  workload: WorkloadProgress;
  /** undefined when the mirror configures no node runtime. */
  nodes: NodeProgress | undefined;
  /** host:port clients use; undefined while a load balancer has no address yet. */
  serviceAddress: string | undefined;
  nodePort?: number;
  /** With replicas > 1: the peer replicas and whether each is ready (a member). */
  peers?: { address: string; pod?: string; ready: boolean }[];
  /** Problems that do not stop the mirror but need a person: they make Degraded true. */
  warnings: { reason: string; message: string }[];
  /** The UpstreamCredentialsShared condition (client-auth.ts). */
  upstreamCredentialsShared: AccessCondition;
  /** The installation that owns (reconciles) the mirror: the Claimed condition names it. */
  installation: string;
  /** When the spec names a masqueradeUrl: whether the node agents map it, and to what. */
  masquerade?: { host: string; mapped: boolean; address: string };
}

/** The Claimed condition: which installation reconciles the mirror (ADR 0021). */
export function claimedCondition(installation: string, generation: number): ConditionInput {
  return {
    type: "Claimed",
    status: "True",
    reason: "ClaimedByInstallation",
    message: `reconciled by the regmirror-operator installation ${installation} (namespace/lease); other installations leave this mirror alone`,
    observedGeneration: generation,
  };
}

function masqueradeCondition(
  masquerade: NonNullable<StatusInputs["masquerade"]>,
  generation: number,
): ConditionInput {
  const { host, mapped, address } = masquerade;
  return mapped
    ? {
        type: "MasqueradeHostMapped",
        status: "True",
        reason: "HostsFile",
        message: `the node agents map ${host} to the mirror (${address}) in /etc/hosts`,
        observedGeneration: generation,
      }
    : {
        type: "MasqueradeHostMapped",
        status: "False",
        reason: "NotMapped",
        message: `nodes do not resolve ${host} to the mirror: add hosts-file to spec.nodeConfiguration.modes (the node agents then map it in /etc/hosts), or make your DNS resolve ${host} to ${address}`,
        observedGeneration: generation,
      };
}

export function computeStatus(
  previous: readonly Condition[] | undefined,
  inputs: StatusInputs,
  nowMs: number,
): Record<string, unknown> {
  const { workload, nodes, generation } = inputs;
  const nodesDone = nodes?.done ?? true;
  const addressKnown = inputs.serviceAddress !== undefined;
  const ready = workload.current && nodesDone && addressKnown;
  const progress = `${workload.ready}/${workload.desired} cache pods ready${
    nodes ? `, ${nodes.configured}/${nodes.desired} nodes configured` : ""
  }${addressKnown ? "" : ", waiting for the load balancer's address"}`;
  const notReadyReason = !workload.current
    ? "CachePodsNotReady"
    : !addressKnown
      ? "AddressPending"
      : "NodesNotConfigured";
  let conditions = setCondition(
    previous,
    {
      type: "Ready",
      status: ready ? "True" : "False",
      reason: ready ? "Available" : notReadyReason,
      message: progress,
      observedGeneration: generation,
    },
    nowMs,
  );
  conditions = setCondition(
    conditions,
    {
      type: "Progressing",
      status: ready ? "False" : "True",
      reason: ready ? "RolloutComplete" : "RollingOut",
      message: ready ? "every owned object is at the current spec" : `waiting: ${progress}`,
      observedGeneration: generation,
    },
    nowMs,
  );
  const warning = inputs.warnings[0];
  conditions = setCondition(
    conditions,
    {
      type: "Degraded",
      status: warning ? "True" : "False",
      reason: warning?.reason ?? "AsExpected",
      message: warning
        ? inputs.warnings.map((entry) => entry.message).join("; ")
        : "the last reconcile succeeded",
      observedGeneration: generation,
    },
    nowMs,
  );
  conditions = setCondition(
    conditions,
    {
      type: "UpstreamCredentialsShared",
      ...inputs.upstreamCredentialsShared,
      observedGeneration: generation,
    },
    nowMs,
  );
  conditions = setCondition(conditions, claimedCondition(inputs.installation, generation), nowMs);
  conditions = inputs.masquerade
    ? setCondition(conditions, masqueradeCondition(inputs.masquerade, generation), nowMs)
    : removeCondition(conditions, "MasqueradeHostMapped");
  return {
    conditions,
    ...(inputs.serviceAddress !== undefined ? { serviceAddress: inputs.serviceAddress } : {}),
    ...(inputs.nodePort !== undefined ? { nodePort: inputs.nodePort } : {}),
    readyReplicas: workload.ready,
    nodesConfigured: nodes?.configured ?? 0,
    nodesTotal: nodes?.desired ?? 0,
    ...(inputs.peers !== undefined ? { peers: inputs.peers } : {}),
  };
}

/** Conditions after a failed reconcile: Degraded with the error, Ready false, the rest kept. */
export function failureConditions(
  previous: readonly Condition[] | undefined,
  failure: { reason: string; message: string },
  generation: number,
  nowMs: number,
  installation: string,
): Condition[] {
  const message = failure.message.slice(0, 4000);
  let conditions = setCondition(previous, claimedCondition(installation, generation), nowMs);
  conditions = setCondition(
    conditions,
    {
      type: "Degraded",
      status: "True",
      reason: failure.reason,
      message,
      observedGeneration: generation,
    },
    nowMs,
  );
  conditions = setCondition(
    conditions,
    {
      type: "Ready",
      status: "False",
      reason: failure.reason,
      message,
      observedGeneration: generation,
    },
    nowMs,
  );
  if (!conditions.some((condition) => condition.type === "Progressing")) {
    conditions = setCondition(
      conditions,
      {
        type: "Progressing",
        status: "False",
        reason: failure.reason,
        message,
        observedGeneration: generation,
      },
      nowMs,
    );
  }
  return conditions;
}
