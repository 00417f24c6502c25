// The one context of a mirror's reconcile: the mirror, its parsed spec and the names of its objects.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import type { RegistryMirrorSpec } from "@regmirror/schemas";
import { type MirrorObjectNames, mirrorObjectNames } from "./object-names.js";

/** Everything a renderer needs to know about one mirror. */
export interface MirrorContext {
  /** The RegistryMirror as read from the API server (owner of everything rendered). */
  mirror: KubeObject;
  name: string;
  /** Where the owned objects live: the operator's namespace. */
  namespace: string;
  spec: RegistryMirrorSpec;
  names: MirrorObjectNames;
  images: OperatorImages;
}

export interface OperatorImages {
  /** The operator's own image; the node agent DaemonSet runs it with `node-agent`. */
  operator: string;
  /** The regmirror-cache image the StatefulSet / Deployment runs. */
  cache: string;
  pullPolicy?: "Always" | "IfNotPresent" | "Never";
  /** imagePullSecrets of the pods the operator renders (in its namespace). */
  pullSecrets?: readonly string[];
}

/** The context of `mirror`, whose spec parsed to `spec`, in the operator's `namespace`. */
export function createMirrorContext(
  mirror: KubeObject,
  spec: RegistryMirrorSpec,
  operator: { namespace: string; images: OperatorImages },
): MirrorContext {
  const name = mirror.metadata?.name ?? "";
  return {
    mirror,
    name,
    namespace: operator.namespace,
    spec,
    names: mirrorObjectNames(name),
    images: operator.images,
  };
}
