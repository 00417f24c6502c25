// Finalizers: has, add and remove with a JSON patch, and whether an object is being deleted.
import { isKubernetesApiError, isNotFound, ReconcilerError } from "./errors.js";
import { type KubernetesClient, PatchType } from "./kubernetes-client.js";
import { describeObject, type KubeObject, referenceTo } from "./kubernetes-object.js";

export function hasFinalizer(object: KubeObject, finalizer: string): boolean {
  return object.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** The object is being deleted and waits for its finalizers. */
export function isBeingDeleted(object: KubeObject): boolean {
  return Boolean(object.metadata?.deletionTimestamp);
}

export interface FinalizerOptions {
  fieldManager?: string;
  /** Re-reads and retries after a concurrent change, this many times. Default 5. */
  attempts?: number;
  signal?: AbortSignal;
}

// A JSON patch whose `test` failed is refused as 422 Invalid (or 409 on a resourceVersion).
const lostRace = (error: unknown): boolean =>
  isKubernetesApiError(error) && (error.statusCode === 409 || error.statusCode === 422);

async function patchWithRetry<T extends KubeObject>(
  client: KubernetesClient,
  object: T,
  action: string,
  buildPatch: (current: T) => unknown[] | undefined,
  options: FinalizerOptions,
): Promise<T | undefined> {
  const reference = referenceTo(object, action);
  const attempts = options.attempts ?? 5;
  let current = object;
  for (let attempt = 1; ; attempt++) {
    const patch = buildPatch(current);
    if (!patch) return current;
    try {
      return await client.patch<T>(reference, patch, PatchType.json, {
        fieldManager: options.fieldManager,
        signal: options.signal,
      });
    } catch (error) {
      if (!lostRace(error) || attempt >= attempts) throw error;
      // Someone else changed the object since it was read: read it again and redo the patch.
      current = await client.get<T>(reference, options.signal);
    }
  }
}

/**
 * Adds `finalizer` with a JSON patch whose `test` guards against a concurrent change (a
 * plain merge patch would overwrite finalizers someone else just added). Returns the
 * updated object, or the object as it was when the finalizer is already there.
 */
export async function addFinalizer<T extends KubeObject>(
  client: KubernetesClient,
  object: T,
  finalizer: string,
  options: FinalizerOptions = {},
): Promise<T> {
  const updated = await patchWithRetry(
    client,
    object,
    "addFinalizer",
    (current) => {
      if (hasFinalizer(current, finalizer)) return undefined;
      const existing = current.metadata?.finalizers;
      if (existing) {
        return [
          { op: "test", path: "/metadata/finalizers", value: existing },
          { op: "add", path: "/metadata/finalizers/-", value: finalizer },
        ];
      }
      const resourceVersion = current.metadata?.resourceVersion;
      if (!resourceVersion) {
        throw new ReconcilerError(
          "BAD_OBJECT",
          `addFinalizer: ${describeObject(current)} has no resourceVersion`,
        );
      }
      return [
        { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
        { op: "add", path: "/metadata/finalizers", value: [finalizer] },
      ];
    },
    options,
  );
  return updated ?? object;
}

/**
 * Removes `finalizer` (tested at its index first, so a concurrent reorder cannot make the
 * patch remove another one). Returns the updated object, or `undefined` when the object is
 * gone: removing the last finalizer of an object being deleted lets the server delete it.
 */
export async function removeFinalizer<T extends KubeObject>(
  client: KubernetesClient,
  object: T,
  finalizer: string,
  options: FinalizerOptions = {},
): Promise<T | undefined> {
  try {
    return await patchWithRetry(
      client,
      object,
      "removeFinalizer",
      (current) => {
        const index = current.metadata?.finalizers?.indexOf(finalizer) ?? -1;
        if (index < 0) return undefined;
        return [
          { op: "test", path: `/metadata/finalizers/${index}`, value: finalizer },
          { op: "remove", path: `/metadata/finalizers/${index}` },
        ];
      },
      options,
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
