// The kinds a mirror owns: their informers, and applying, reading and deleting them.
import type { Logger } from "@regmirror/core";
import {
  controllerOf,
  createInformer,
  type Informer,
  isNotFound,
  type KubeObject,
  type KubernetesClient,
  withControllerReference,
} from "@regmirror/k8s-reconciler";
import { fieldManager, managedByLabel, managedByValue } from "../render/object-names.js";

// The kinds a mirror owns, each watched in the operator's namespace (or the cluster, for the
// cluster-scoped webhook configuration) so that a change or a deletion (drift) reconciles the
// owning mirror.

export const ownedKinds = [
  { apiVersion: "v1", kind: "ConfigMap" },
  { apiVersion: "v1", kind: "Secret" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "networking.k8s.io/v1", kind: "Ingress" },
  // replicas > 1: the cache pods' account, allowed to list their Service's EndpointSlices.
  { apiVersion: "v1", kind: "ServiceAccount" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding" },
  // Watched, not owned (the Service's controller writes them, with its labels): the peer members.
  { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice" },
  // Cluster scoped (webhook mode); owned by the mirror, which is cluster scoped too.
  { apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration" },
] as const;

const clusterScopedKinds: ReadonlySet<string> = new Set(["MutatingWebhookConfiguration"]);

export type OwnedKind = (typeof ownedKinds)[number]["kind"];

export type OwnedInformers = Record<OwnedKind, Informer>;

export interface OwnedInformerOptions {
  client: KubernetesClient;
  namespace: string;
  logger: Logger;
  watchTimeoutSeconds?: number;
}

export function createOwnedInformers(options: OwnedInformerOptions): OwnedInformers {
  const entries = ownedKinds.map(({ apiVersion, kind }) => [
    kind,
    createInformer({
      client: options.client,
      apiVersion,
      kind,
      namespace: clusterScopedKinds.has(kind) ? undefined : options.namespace,
      // Secrets unlabelled too: a mirror's TLS or credentials Secret is the user's.
      labelSelector: kind === "Secret" ? undefined : `${managedByLabel}=${managedByValue}`,
      logger: options.logger,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
    }),
  ]);
  return Object.fromEntries(entries) as OwnedInformers;
}

/** Applies `object` as owned by `owner` (server-side apply, our field manager, forced). */
export async function applyOwned<T extends KubeObject>(
  client: KubernetesClient,
  owner: KubeObject,
  object: KubeObject,
  signal?: AbortSignal,
): Promise<T> {
  return client.apply<T>(withControllerReference(object, owner), {
    fieldManager,
    force: true,
    signal,
  });
}

/** Objects of `kind` in the cache that `owner` controls. */
export function ownedBy(
  informers: OwnedInformers,
  kind: OwnedKind,
  owner: KubeObject,
): KubeObject[] {
  const uid = owner.metadata?.uid;
  return informers[kind].store.list().filter((object) => controllerOf(object)?.uid === uid);
}

/** Deletes an owned object if it exists; already gone is fine. */
export async function deleteOwned(
  client: KubernetesClient,
  object: KubeObject,
  signal?: AbortSignal,
): Promise<void> {
  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  if (!apiVersion || !kind || !name) return;
  try {
    await client.delete(
      { apiVersion, kind, name, namespace: object.metadata?.namespace },
      { propagationPolicy: "Background", signal },
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** A fresh read (not the cache): for objects whose content the operator acts on. */
export async function readOptional(
  client: KubernetesClient,
  reference: { apiVersion: string; kind: string; namespace?: string; name: string },
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  try {
    return await client.get(reference, signal);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
