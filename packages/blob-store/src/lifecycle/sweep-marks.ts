// The mark a process leaves in shared storage at each of its sweeps, so that the others can tell
// when the one whose turn it is has stopped sweeping (a replica that is down but still listed).
import { randomUUID } from "node:crypto";
import type { Clock } from "@regmirror/core";
import type { MetadataStore } from "../blob-store.js";

const markKey = "store-sweep/last";

export interface SweepMarks {
  /** Leaves this process's mark: it sweeps now. */
  mark(): Promise<void>;
  /**
   * Called at each sweep that is not this process's turn: true when this one and the
   * `sweeps - 1` before it found no new mark of another process. Counted in this process's own
   * sweeps, not in clock time, so that the clocks of two machines never have to agree.
   */
  silentFor(sweeps: number): Promise<boolean>;
}

export function sweepMarks(metadata: MetadataStore, clock: Clock): SweepMarks {
  // Tells this process's marks from the others': a mark it left itself is no sign of another.
  const self = randomUUID();
  let lastSeen: string | undefined;
  let unchanged = 0;
  return {
    async mark() {
      const at = new Date(clock.now()).toISOString();
      await metadata.put(markKey, JSON.stringify({ by: self, at }));
    },
    async silentFor(sweeps) {
      const mark = await metadata.get(markKey);
      const byAnother = mark !== undefined && !mark.includes(self);
      if (byAnother && mark !== lastSeen) {
        lastSeen = mark;
        unchanged = 0;
        return false;
      }
      unchanged += 1;
      return unchanged >= sweeps;
    },
  };
}
