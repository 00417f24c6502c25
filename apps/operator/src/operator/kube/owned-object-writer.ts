// Applies a mirror's objects for one reconcile, then deletes the owned objects it no longer wants.
import { type KubeObject, type KubernetesClient, objectKey } from "@regmirror/k8s-reconciler";
import {
  applyOwned,
  deleteOwned,
  type OwnedInformers,
  type OwnedKind,
  ownedBy,
  ownedKinds,
} from "./owned-objects.js";

// Applies a mirror's objects for one reconcile and remembers which it applied and which of
// them changed, so that afterwards every owned object it did not apply (left from an earlier
// shape of the spec: a removed credentials Secret, an Ingress after a switch to ClusterIP...)
// is deleted, and a Normal Event can say what changed.

export interface OwnedObjectWriter {
  apply<T extends KubeObject>(object: KubeObject): Promise<T>;
  /** Counts an object applied elsewhere (the node agent uninstall) as wanted. */
  keep(kind: OwnedKind, name: string): void;
  /** Deletes owned objects not applied or kept in this pass. */
  pruneUnwanted(): Promise<void>;
  /** "created Service regmirror-hub", "updated ConfigMap ...", "deleted Secret ...". */
  changes(): string[];
}

/** An object as this operator last applied it. */
export interface AppliedVersion {
  uid: string;
  resourceVersion: string;
}

export function createOwnedObjectWriter(options: {
  client: KubernetesClient;
  informers: OwnedInformers;
  owner: KubeObject;
  /**
   * The resourceVersion of each object as this operator last applied it ("Kind/ns/name"), kept
   * across reconciles: the informer may not have seen our own last write yet, which is no change.
   */
  appliedVersions: Map<string, AppliedVersion>;
  signal?: AbortSignal;
}): OwnedObjectWriter {
  const { client, informers, owner, appliedVersions, signal } = options;
  const wanted = new Set<string>();
  const changes: string[] = [];
  const keyOf = (kind: string, name: string | undefined) => `${kind}/${name ?? ""}`;

  return {
    async apply<T extends KubeObject>(object: KubeObject): Promise<T> {
      const kind = object.kind as OwnedKind;
      const name = object.metadata?.name;
      const namespace = object.metadata?.namespace;
      wanted.add(keyOf(kind, name));
      const versionKey = `${kind}/${namespace}/${name}`;
      const before = informers[kind]?.store.get(objectKey(object));
      const applied = await applyOwned<T>(client, owner, object, signal);
      // A server-side apply that changes nothing keeps the resourceVersion.
      const now = {
        uid: applied.metadata?.uid ?? "",
        resourceVersion: applied.metadata?.resourceVersion ?? "",
      };
      const last = appliedVersions.get(versionKey);
      const cached = before?.metadata;
      if (last?.uid !== now.uid && cached?.uid !== now.uid) {
        changes.push(`created ${kind} ${name}`);
      } else if (
        last?.resourceVersion !== now.resourceVersion &&
        cached?.resourceVersion !== now.resourceVersion
      ) {
        changes.push(`updated ${kind} ${name}`);
      }
      appliedVersions.set(versionKey, now);
      return applied;
    },
    keep(kind, name) {
      wanted.add(keyOf(kind, name));
    },
    async pruneUnwanted() {
      for (const { kind } of ownedKinds) {
        for (const object of ownedBy(informers, kind, owner)) {
          if (wanted.has(keyOf(kind, object.metadata?.name))) continue;
          await deleteOwned(client, object, signal);
          appliedVersions.delete(`${kind}/${object.metadata?.namespace}/${object.metadata?.name}`);
          changes.push(`deleted ${kind} ${object.metadata?.name}`);
        }
      }
    },
    changes: () => [...changes],
  };
}
