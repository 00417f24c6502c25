// Status subresource writes: an optimistic update, or a server-side apply.
import { isDeepStrictEqual } from "node:util";
import { ReconcilerError } from "./errors.js";
import type { KubernetesClient } from "./kubernetes-client.js";
import { describeObject, type KubeObject, referenceTo } from "./kubernetes-object.js";

export interface StatusUpdateOptions {
  fieldManager?: string;
  /**
   * Set `status.observedGeneration` to the object's `metadata.generation`, telling readers
   * which spec the status describes. Default true.
   */
  observedGeneration?: boolean;
  signal?: AbortSignal;
}

/**
 * Writes `status` through the status subresource with a PUT that carries the object's
 * resourceVersion: a concurrent change makes it fail with 409 Conflict (throw it from the
 * reconcile and the key is retried on fresh data). Nothing is sent when the status is
 * already what it would become, so a controller does not wake itself up forever.
 */
export async function updateStatus<T extends KubeObject, S extends Record<string, unknown>>(
  client: KubernetesClient,
  object: T,
  status: S,
  options: StatusUpdateOptions = {},
): Promise<T> {
  referenceTo(object, "updateStatus");
  const next: Record<string, unknown> = { ...status };
  if (options.observedGeneration ?? true) {
    const generation = object.metadata?.generation;
    if (generation === undefined) {
      throw new ReconcilerError(
        "BAD_OBJECT",
        `updateStatus: ${describeObject(object)} has no metadata.generation to record as observedGeneration`,
      );
    }
    next.observedGeneration = generation;
  }
  if (isDeepStrictEqual(object.status, next)) return object;
  return client.replace<T>(
    { ...object, status: next },
    {
      subresource: "status",
      fieldManager: options.fieldManager,
      signal: options.signal,
    },
  );
}

/**
 * Server-side applies `status` to the status subresource as `fieldManager`: only the fields
 * given are owned, other writers' fields are left alone. No resourceVersion check.
 */
export async function applyStatus<T extends KubeObject>(
  client: KubernetesClient,
  object: KubeObject,
  status: Record<string, unknown>,
  options: { fieldManager: string; force?: boolean; signal?: AbortSignal },
): Promise<T> {
  const { apiVersion, kind, name, namespace } = referenceTo(object, "applyStatus");
  return client.apply<T>(
    { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, status },
    { ...options, force: options.force ?? true, subresource: "status" },
  );
}
