// Taking a mirror's configuration off the nodes through the node agent DaemonSet.
import { type KubeObject, PatchType } from "@regmirror/k8s-reconciler";
import { applyOwned } from "../kube/owned-objects.js";
import type { MirrorContext } from "../render/mirror-context.js";
import { fieldManager, type MirrorObjectNames } from "../render/object-names.js";
import {
  nodeStateFileName,
  nodeStateHash,
  renderNodeAgentDaemonSet,
  renderNodeState,
  renderNodeStateConfigMap,
} from "../render/render-node-agent.js";
import type { OperatorDependencies } from "./operator-dependencies.js";

// Taking the mirror's configuration off the nodes: the node agent DaemonSet gets an empty desired
// state and rolls; each new agent removes what it wrote before it turns ready, so the DaemonSet's
// rollout status says when every node is clean. Used on deletion (the finalizer) and when a
// mirror stops configuring nodes (nodeConfiguration.modes without a runtime).

export const uninstallStartedAnnotation = "regmirror.dev/uninstall-started-at";

/** When the uninstall began (kept on the DaemonSet across reconciles and restarts). */
export function uninstallStartedAt(daemonSet: KubeObject, nowMs: number): number {
  const recorded = Number(daemonSet.metadata?.annotations?.[uninstallStartedAnnotation]);
  return Number.isFinite(recorded) && recorded > 0 ? recorded : nowMs;
}

/** Re-renders the DaemonSet and its state from the mirror's spec, in uninstall mode. */
export async function uninstallNodeAgents(
  context: MirrorContext,
  startedAt: number,
  dependencies: Pick<OperatorDependencies, "client">,
  signal?: AbortSignal,
): Promise<KubeObject> {
  const { client } = dependencies;
  const { mirror } = context;
  const nodeState = renderNodeState(context, { clusterIp: "", caPem: "", uninstall: true });
  await applyOwned(client, mirror, renderNodeStateConfigMap(context, nodeState), signal);
  const rendered = renderNodeAgentDaemonSet(context, nodeState, true);
  rendered.metadata = {
    ...rendered.metadata,
    annotations: {
      ...rendered.metadata?.annotations,
      [uninstallStartedAnnotation]: String(startedAt),
    },
  };
  return applyOwned(client, mirror, rendered, signal);
}

/**
 * The spec no longer parses (it was changed to something invalid after it was applied): the
 * DaemonSet as it is gets an empty state for the runtimes it was configuring, by merge patches.
 */
export async function uninstallInPlace(
  daemonSet: KubeObject,
  names: MirrorObjectNames,
  startedAt: number,
  dependencies: Pick<OperatorDependencies, "client" | "informers" | "namespace">,
  signal?: AbortSignal,
): Promise<KubeObject> {
  const { client, namespace } = dependencies;
  const current = dependencies.informers.ConfigMap.store.get(`${namespace}/${names.nodeState}`);
  let runtimes: unknown = [];
  try {
    const data = current?.data as Record<string, string> | undefined;
    runtimes = JSON.parse(data?.[nodeStateFileName] ?? "{}").runtimes ?? [];
  } catch {
    // Unreadable: an empty list still makes the agents release every file they own.
  }
  const nodeState = `${JSON.stringify({ runtimes, mirrors: [], hostsFileEntries: [] }, null, 2)}\n`;
  await client.patch(
    { apiVersion: "v1", kind: "ConfigMap", namespace, name: names.nodeState },
    { data: { [nodeStateFileName]: nodeState } },
    PatchType.merge,
    { fieldManager, signal },
  );
  const mode = { "regmirror.dev/node-agent-mode": "uninstall" };
  return client.patch(
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      namespace,
      name: daemonSet.metadata?.name ?? names.nodeAgent,
    },
    {
      metadata: { annotations: { ...mode, [uninstallStartedAnnotation]: String(startedAt) } },
      spec: {
        template: {
          metadata: {
            annotations: { ...mode, "regmirror.dev/node-state-hash": nodeStateHash(nodeState) },
          },
        },
      },
    },
    PatchType.merge,
    { fieldManager, signal },
  );
}
