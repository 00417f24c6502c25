// Whether the controller is stuck, for /healthz (so liveness restarts a wedged process): its
// informers have not synced long after it started, a reconcile has been running far too long,
// or keys wait in the queue while no reconcile starts. A standby replica is never stuck.
import type { Clock } from "@regmirror/core";

export interface ControllerHealthInputs {
  /** This process reconciles (leads, or runs without leader election). */
  reconciling: boolean;
  informersSynced: boolean;
  /** Keys queued and ready. */
  queueDepth: number;
}

export interface ControllerHealth {
  /** The controller began (leadership won); resets the clocks. */
  started(): void;
  stopped(): void;
  reconcileStarted(key: string): () => void;
  /** Problems that make /healthz fail; empty when healthy. */
  problems(inputs: ControllerHealthInputs): string[];
}

export function createControllerHealth(options: {
  stuckAfterMs: number;
  clock: Clock;
}): ControllerHealth {
  const { stuckAfterMs, clock } = options;
  const now = () => clock.now();
  let startedAt: number | undefined;
  let lastReconcileStartAt: number | undefined;
  const running = new Map<symbol, { key: string; since: number }>();
  const seconds = (milliseconds: number) => `${Math.round(milliseconds / 1000)}s`;

  return {
    started() {
      startedAt = now();
      lastReconcileStartAt = undefined;
    },
    stopped() {
      startedAt = undefined;
      running.clear();
    },
    reconcileStarted(key) {
      const token = Symbol(key);
      lastReconcileStartAt = now();
      running.set(token, { key, since: lastReconcileStartAt });
      return () => {
        running.delete(token);
      };
    },
    problems({ reconciling, informersSynced, queueDepth }) {
      if (!reconciling || startedAt === undefined) return [];
      const at = now();
      const problems: string[] = [];
      if (!informersSynced && at - startedAt > stuckAfterMs) {
        problems.push(`the informers have not synced ${seconds(at - startedAt)} after start`);
      }
      for (const { key, since } of running.values()) {
        if (at - since > stuckAfterMs) {
          problems.push(`the reconcile of ${key} has been running for ${seconds(at - since)}`);
        }
      }
      const idleSince = lastReconcileStartAt ?? startedAt;
      if (informersSynced && queueDepth > 0 && at - idleSince > stuckAfterMs) {
        problems.push(
          `${queueDepth} queued reconciles and none started for ${seconds(at - idleSince)}`,
        );
      }
      return problems;
    },
  };
}
