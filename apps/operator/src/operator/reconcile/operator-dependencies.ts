// What every step of a reconcile uses: the cluster, the caches, and this installation's settings.
import type { Clock, Logger } from "@regmirror/core";
import type {
  EventRecorder,
  Informer,
  KubeObject,
  KubernetesClient,
} from "@regmirror/k8s-reconciler";
import type { AppliedVersion } from "../kube/owned-object-writer.js";
import type { OwnedInformers } from "../kube/owned-objects.js";
import type { OperatorImages } from "../render/mirror-context.js";
import type { WebhookEndpoint } from "../render/render-webhook-configuration.js";

/** Built once by the operator; every reconcile step takes it as it is. */
export interface OperatorDependencies {
  client: KubernetesClient;
  /** The RegistryMirrors (cluster scoped). */
  mirrors: Informer;
  /** The kinds a mirror owns, in `namespace`. */
  informers: OwnedInformers;
  /** The cluster's Nodes (NodePort addresses); empty when none are known. */
  nodes(): readonly KubeObject[];
  /** Where the operator runs and puts every mirror's objects. */
  namespace: string;
  /** This installation's name ("namespace/lease"), written into the claims it makes. */
  installation: string;
  images: OperatorImages;
  /** Where the API server reaches this installation's admission webhook; none: not served. */
  webhookEndpoint: WebhookEndpoint | undefined;
  /** ImageSwap's maps ConfigMap when a mirror does not name one. */
  imageswapNamespace: string;
  imageswapConfigMapName: string;
  /** How long deletion waits for the node agents to remove their files. */
  nodeCleanupTimeoutMs: number;
  /** Look again this often even when nothing changes (drift nobody is told about). */
  resyncIntervalMs: number;
  /**
   * The resourceVersion of each object as this operator last applied it ("Kind/ns/name"), kept
   * across reconciles (see createOwnedObjectWriter).
   */
  appliedVersions: Map<string, AppliedVersion>;
  events: EventRecorder;
  logger: Logger;
  clock: Clock;
}
