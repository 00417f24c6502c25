// Kubernetes objects as the JSON the API server sends, and their keys.
import { ReconcilerError } from "./errors.js";

/**
 * Objects are handled as the JSON the API server sends: timestamps stay RFC 3339 strings.
 * (client-node's `ObjectSerializer.deserialize(object, "V1ConfigMap")` turns one into its
 * model classes when a caller wants them.)
 */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: Array<Record<string, unknown>>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

/**
 * A @kubernetes/client-node model type the way this library hands objects out: as the JSON the
 * API server sends, so every `Date` field is an RFC 3339 string. Use it to type built-in kinds:
 * `createInformer<WireObject<V1ConfigMap>>(...)`, `client.get<WireObject<V1Pod>>(...)`.
 */
export type WireObject<T> = T extends Date
  ? string
  : T extends ReadonlyArray<infer Item>
    ? WireObject<Item>[]
    : T extends object
      ? { [Key in keyof T]: WireObject<T[Key]> }
      : T;

/** The least needed to address an object: its type and its name. */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** The cache / queue key of an object: "namespace/name", or "name" when cluster scoped. */
export function objectKey(object: { metadata?: { namespace?: string; name?: string } }): string {
  const name = object.metadata?.name;
  if (!name) throw new ReconcilerError("BAD_OBJECT", "an object without metadata.name has no key");
  const namespace = object.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

/** Splits a key made by `objectKey`. */
export function parseObjectKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf("/");
  if (slash < 0) return { name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The group of an apiVersion: "" for the core group ("v1"). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** The type and name of `object`, or a BAD_OBJECT error naming the missing field. */
export function referenceTo(object: KubeObject, action: string): ObjectReference {
  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  for (const [field, value] of [
    ["apiVersion", apiVersion],
    ["kind", kind],
    ["metadata.name", name],
  ] as const) {
    if (typeof value !== "string" || value === "") {
      throw new ReconcilerError("BAD_OBJECT", `${action}: the object has no ${field}`);
    }
  }
  const reference: ObjectReference = {
    apiVersion: apiVersion as string,
    kind: kind as string,
    name: name as string,
  };
  if (object.metadata?.namespace) reference.namespace = object.metadata.namespace;
  return reference;
}

/** Describes an object for logs and error messages: "Kind namespace/name". */
export function describeObject(object: KubeObject | ObjectReference): string {
  const kind = object.kind ?? "object";
  const metadata = "metadata" in object ? object.metadata : (object as ObjectReference);
  const namespace = metadata?.namespace;
  const name = metadata?.name ?? "(unnamed)";
  return `${kind} ${namespace ? `${namespace}/` : ""}${name}`;
}
