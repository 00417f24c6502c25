// Whether the node is configured as the state file asks now: what the agent's /readyz answers.
import { createHash } from "node:crypto";
import type { LastApply } from "./node-agent.js";
import type { ApplyResult } from "./node-agent-metrics.js";

// What GET /readyz answers. The DaemonSet's readiness (and so the mirror's Ready condition) must
// mean "this node is configured as the current desired state asks", so only a clean apply of the
// state file as it is now counts. The body names a reason and, for conflicts, the node paths;
// never a message that could quote the state file (it may hold a client key).

export type NotReadyReason =
  | Exclude<ApplyResult, "changed" | "unchanged">
  | "not-applied-yet"
  | "state-changed";

export type NodeAgentReadiness =
  | { ready: true; result: "changed" | "unchanged" }
  | { ready: false; reason: NotReadyReason; conflicts?: string[] };

/** The state file's text as a digest: enough to tell whether the last apply saw this text. */
export function stateDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function isSuccessfulApply(lastApply: LastApply | undefined): boolean {
  return (
    (lastApply?.result === "changed" || lastApply?.result === "unchanged") &&
    lastApply.conflicts.length === 0
  );
}

/**
 * Ready when the last apply succeeded without conflicts and applied the state file as it reads
 * now (`current`: its digest, or why it cannot be read); a newer file means an apply is pending.
 */
export function nodeAgentReadiness(
  lastApply: LastApply | undefined,
  appliedDigest: string | undefined,
  current: { digest: string } | { unreadable: "missing-state" | "error" },
): NodeAgentReadiness {
  if (!lastApply) return { ready: false, reason: "not-applied-yet" };
  if (lastApply.result === "conflict" || lastApply.conflicts.length > 0) {
    return {
      ready: false,
      reason: "conflict",
      conflicts: lastApply.conflicts.map((conflict) => conflict.path),
    };
  }
  if (lastApply.result !== "changed" && lastApply.result !== "unchanged") {
    return { ready: false, reason: lastApply.result };
  }
  if ("unreadable" in current) return { ready: false, reason: current.unreadable };
  if (current.digest !== appliedDigest) return { ready: false, reason: "state-changed" };
  return { ready: true, result: lastApply.result };
}
