// Deleting a mirror: node files first, then ImageSwap lines, owned objects, the finalizer.
import {
  type Condition,
  hasFinalizer,
  type KubeObject,
  type ReconcileResult,
  removeFinalizer,
  setCondition,
  updateStatus,
} from "@regmirror/k8s-reconciler";
import { parseRegistryMirrorSpec, registryMirrorApi } from "@regmirror/schemas";
import { recordedImageswapTarget, syncImageswapMaps } from "../kube/imageswap-sync.js";
import { deleteOwned, ownedBy, ownedKinds, readOptional } from "../kube/owned-objects.js";
import { createMirrorContext } from "../render/mirror-context.js";
import { fieldManager, finalizerName, mirrorObjectNames } from "../render/object-names.js";
import { nodeProgress } from "./mirror-status.js";
import {
  uninstallInPlace,
  uninstallNodeAgents,
  uninstallStartedAt,
} from "./node-agent-uninstall.js";
import type { OperatorDependencies } from "./operator-dependencies.js";

// Deleting a mirror: the node agents get an empty desired state and remove what they wrote;
// when the DaemonSet reports every agent on it (or the timeout passes, which is reported),
// ImageSwap lines are removed, the owned objects deleted and the finalizer released.

const pollWhileWaitingMs = 2_000;

async function writeConditions(
  dependencies: OperatorDependencies,
  mirror: KubeObject,
  condition: Omit<Condition, "lastTransitionTime">,
  signal: AbortSignal | undefined,
): Promise<KubeObject> {
  const status = (mirror.status ?? {}) as Record<string, unknown>;
  const conditions = setCondition(
    status.conditions as Condition[] | undefined,
    { ...condition, observedGeneration: mirror.metadata?.generation },
    dependencies.clock.now(),
  );
  return updateStatus(
    dependencies.client,
    mirror,
    { ...status, conditions },
    { fieldManager, signal },
  );
}

export async function finalizeMirror(
  mirror: KubeObject,
  dependencies: OperatorDependencies,
  signal?: AbortSignal,
): Promise<ReconcileResult> {
  if (!hasFinalizer(mirror, finalizerName)) return undefined;
  const { client, informers, namespace } = dependencies;
  const name = mirror.metadata?.name ?? "";
  // Read fresh: the cache can still hold a mirror whose finalizer an earlier pass removed (the
  // deletions of its objects queue it again), which would report and log its end twice.
  const current = await readOptional(
    client,
    { apiVersion: registryMirrorApi.apiVersion, kind: registryMirrorApi.kind, name },
    signal,
  );
  if (!current || !hasFinalizer(current, finalizerName)) return undefined;
  mirror = current;
  const names = mirrorObjectNames(name);
  const now = dependencies.clock.now();
  let timedOut: string | undefined;

  // ImageSwap lines first, while nothing else has changed.
  const imageswap = recordedImageswapTarget(informers, namespace, names.cacheConfig);
  if (imageswap) await syncImageswapMaps(client, imageswap, name, new Map(), signal);

  const daemonSet = informers.DaemonSet.store.get(`${namespace}/${names.nodeAgent}`);
  let spec: ReturnType<typeof parseRegistryMirrorSpec> | undefined;
  try {
    spec = parseRegistryMirrorSpec(mirror.spec);
  } catch {
    // Changed to something invalid after it was applied: its DaemonSet holds the last valid one.
  }
  if (daemonSet) {
    const startedAt = uninstallStartedAt(daemonSet, now);
    const applied = spec
      ? await uninstallNodeAgents(
          createMirrorContext(mirror, spec, dependencies),
          startedAt,
          dependencies,
          signal,
        )
      : await uninstallInPlace(daemonSet, names, startedAt, dependencies, signal);
    const progress = nodeProgress(applied);
    if (!progress.done) {
      const remainingMs = startedAt + dependencies.nodeCleanupTimeoutMs - now;
      const waiting =
        progress.desired === 0
          ? "the DaemonSet has not reported the uninstall rollout yet"
          : `${progress.configured}/${progress.desired} node agents have removed the mirror's files`;
      if (remainingMs > 0) {
        await writeConditions(
          dependencies,
          mirror,
          {
            type: "Progressing",
            status: "True",
            reason: "RemovingNodeConfiguration",
            message: `deleting: waiting for the node agents; ${waiting}`,
          },
          signal,
        );
        return { requeueAfter: Math.min(pollWhileWaitingMs, remainingMs) };
      }
      timedOut = `node cleanup timed out after ${Math.round(dependencies.nodeCleanupTimeoutMs / 1000)}s (${waiting}): files may remain on nodes whose agent did not report`;
    }
  }

  if (timedOut) {
    dependencies.logger.warn({ mirror: name }, timedOut);
    await dependencies.events.record(mirror, {
      type: "Warning",
      reason: "NodeCleanupTimedOut",
      action: "Finalize",
      note: timedOut,
    });
    mirror = await writeConditions(
      dependencies,
      mirror,
      { type: "Degraded", status: "True", reason: "NodeCleanupTimedOut", message: timedOut },
      signal,
    );
  } else {
    await dependencies.events.record(mirror, {
      type: "Normal",
      reason: "NodeCleanupComplete",
      action: "Finalize",
      note: daemonSet ? "every node agent removed the mirror's files" : "no node was configured",
    });
  }
  // Deleted here rather than left to the garbage collector, so nothing outlives the finalizer.
  for (const { kind } of ownedKinds) {
    for (const object of ownedBy(informers, kind, mirror))
      await deleteOwned(client, object, signal);
  }
  // The uninstall re-applied these two just now; the informer cache may not show them yet.
  const reapplied = [
    { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: names.nodeAgent, namespace } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: names.nodeState, namespace } },
  ];
  for (const object of reapplied) await deleteOwned(client, object, signal);
  await removeFinalizer(client, mirror, finalizerName, { fieldManager, signal });
  dependencies.logger.info({ mirror: name, timedOut: Boolean(timedOut) }, "mirror finalized");
  return undefined;
}
