// Owner references: the controller reference, and the owners' keys for a controller's informers.
import { ReconcilerError } from "./errors.js";
import {
  describeObject,
  groupOf,
  type KubeObject,
  type OwnerReference,
  referenceTo,
} from "./kubernetes-object.js";

/**
 * The owner reference a controller puts on what it creates: `controller: true` marks the one
 * managing owner, `blockOwnerDeletion: true` makes foreground deletion of the owner wait.
 */
export function controllerReference(owner: KubeObject): OwnerReference {
  const { apiVersion, kind, name } = referenceTo(owner, "controllerReference");
  const uid = owner.metadata?.uid;
  if (!uid) {
    throw new ReconcilerError(
      "BAD_OBJECT",
      `controllerReference: ${describeObject(owner)} has no metadata.uid (read it from the API server first)`,
    );
  }
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** The reference marked `controller: true`, if any. */
export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata?.ownerReferences?.find((reference) => reference.controller === true);
}

function sameOwner(a: OwnerReference, b: OwnerReference): boolean {
  // The version may change across an upgrade; group, kind and name identify the owner.
  return groupOf(a.apiVersion) === groupOf(b.apiVersion) && a.kind === b.kind && a.name === b.name;
}

/**
 * Returns a copy of `object` whose ownerReferences name `owner` as its controller. Other
 * owners are kept; an ALREADY_OWNED error is thrown when a different controller owns it.
 */
export function withControllerReference<T extends KubeObject>(object: T, owner: KubeObject): T {
  const reference = controllerReference(owner);
  const existing = controllerOf(object);
  if (existing && !sameOwner(existing, reference)) {
    throw new ReconcilerError(
      "ALREADY_OWNED",
      `${describeObject(object)} is already controlled by ${existing.kind} ${existing.name}`,
    );
  }
  const others = (object.metadata?.ownerReferences ?? []).filter(
    (candidate) => !sameOwner(candidate, reference),
  );
  return {
    ...object,
    metadata: { ...object.metadata, ownerReferences: [...others, reference] },
  };
}

export interface OwnerKind {
  /** The owner's apiVersion ("example.com/v1"); only its group is compared, not the version. */
  apiVersion: string;
  kind: string;
  /**
   * Whether the owner kind is namespaced. Owner references carry no namespace: a namespaced
   * owner lives in its dependant's namespace, a cluster-scoped one in none.
   */
  namespaced: boolean;
}

/**
 * Maps an owned object to the queue key of its controlling owner of `ownerKind`: for
 * controllers that reconcile the owner when something it owns changes (or is deleted).
 */
export function ownerKeysOf(ownerKind: OwnerKind): (object: KubeObject) => string[] {
  const ownerGroup = groupOf(ownerKind.apiVersion);
  return (object) => {
    const owner = controllerOf(object);
    if (!owner || owner.kind !== ownerKind.kind || groupOf(owner.apiVersion) !== ownerGroup) {
      return [];
    }
    const namespace = object.metadata?.namespace;
    return [ownerKind.namespaced && namespace ? `${namespace}/${owner.name}` : owner.name];
  };
}
