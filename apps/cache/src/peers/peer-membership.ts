/**
 * Who the replicas are: the static list, or what a source that changes (EndpointSlices,
 * endpoint-slice-members.ts) last said; `update` moves the owners of digests with it.
 */
import type { PeerMetrics } from "./peer-metrics.js";

export interface PeerMembership {
  /** This replica's own URL. */
  readonly self: string;
  /** The members now, this replica among them once it is ready. */
  members(): readonly string[];
  /** Replaces the member list (a membership source's new answer). */
  update(members: readonly string[]): void;
}

export function createPeerMembership(
  self: string,
  initial: readonly string[],
  metrics: PeerMetrics,
): PeerMembership {
  let current: readonly string[] = [...new Set(initial)].sort();
  metrics.membershipChanged(current.length);
  return {
    self,
    members: () => current,
    update(members) {
      const next = [...new Set(members)].sort();
      if (
        next.length === current.length &&
        next.every((member, index) => member === current[index])
      )
        return;
      current = next;
      metrics.membershipChanged(current.length);
    },
  };
}
