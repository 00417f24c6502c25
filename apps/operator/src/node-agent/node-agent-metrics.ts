// The node agent's Prometheus metrics.
import type { NodeAgentStatus } from "./node-agent.js";
import { isSuccessfulApply } from "./node-agent-readiness.js";

export const applyResults = [
  "changed",
  "unchanged",
  "conflict",
  "missing-state",
  "invalid-state",
  "error",
] as const;
export type ApplyResult = (typeof applyResults)[number];

function metric(name: string, type: "gauge" | "counter", help: string, samples: string[]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples].join("\n");
}

/** The agent's metrics in the Prometheus text exposition format (version 0.0.4). */
export function renderNodeAgentMetrics(status: NodeAgentStatus): string {
  const last = status.lastApply;
  const blocks = [
    metric(
      "regmirror_node_agent_last_apply_success",
      "gauge",
      "1 when the last apply left the node in the desired state (changed or unchanged, no conflict), else 0.",
      [`regmirror_node_agent_last_apply_success ${isSuccessfulApply(last) ? 1 : 0}`],
    ),
    metric(
      "regmirror_node_agent_last_apply_result",
      "gauge",
      "The result of the last apply: 1 for the result it had, 0 for the others.",
      applyResults.map(
        (result) =>
          `regmirror_node_agent_last_apply_result{result="${result}"} ${last?.result === result ? 1 : 0}`,
      ),
    ),
    metric(
      "regmirror_node_agent_last_apply_timestamp_seconds",
      "gauge",
      "When the last apply finished, in seconds since the Unix epoch (0 before the first).",
      [`regmirror_node_agent_last_apply_timestamp_seconds ${last ? last.finishedAt / 1000 : 0}`],
    ),
    metric(
      "regmirror_node_agent_applies_total",
      "counter",
      "Applies since the agent started, by result.",
      applyResults.map(
        (result) =>
          `regmirror_node_agent_applies_total{result="${result}"} ${status.appliesByResult[result]}`,
      ),
    ),
    metric(
      "regmirror_node_agent_managed_files",
      "gauge",
      "Files (and hosts-file blocks) regmirror owns on this node.",
      [`regmirror_node_agent_managed_files ${status.managedFiles}`],
    ),
    metric(
      "regmirror_node_agent_conflicts",
      "gauge",
      "Files the last apply left alone because regmirror did not write them or they were edited.",
      [`regmirror_node_agent_conflicts ${last?.conflicts.length ?? 0}`],
    ),
  ];
  return `${blocks.join("\n")}\n`;
}
