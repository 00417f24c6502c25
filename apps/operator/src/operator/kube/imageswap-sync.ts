import { isNotFound, type KubeObject, type KubernetesClient } from "@regmirror/k8s-reconciler";
import {
  imageswapMapsKey,
  imageswapOwnerAnnotation,
  mergeImageswapMaps,
  parseOwned,
} from "./imageswap-maps.js";
import { fieldManager } from "./object-names.js";

export interface ImageswapTarget {
  namespace: string;
  configMapName: string;
}

/**
 * Writes this mirror's lines into the shared ImageSwap maps ConfigMap (created when missing,
 * without an owner: it is not ours). A read-modify-write with the resourceVersion, so a
 * concurrent writer makes it fail with 409 and the reconcile retries on fresh data.
 * Returns the registries left alone because someone else maps them.
 */
export async function syncImageswapMaps(
  client: KubernetesClient,
  target: ImageswapTarget,
  mirrorName: string,
  desired: ReadonlyMap<string, string>,
  signal?: AbortSignal,
): Promise<string[]> {
  const reference = {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: target.namespace,
    name: target.configMapName,
  };
  let current: KubeObject | undefined;
  try {
    current = await client.get(reference, signal);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const annotation = imageswapOwnerAnnotation(mirrorName);
  const annotations = { ...(current?.metadata?.annotations ?? {}) };
  const data = { ...((current?.data as Record<string, string> | undefined) ?? {}) };
  const merge = mergeImageswapMaps(
    data[imageswapMapsKey] ?? "",
    desired,
    parseOwned(annotations[annotation]),
  );
  if (merge.owned.length > 0) annotations[annotation] = merge.owned.join(",");
  else delete annotations[annotation];
  const unchanged =
    current !== undefined &&
    (data[imageswapMapsKey] ?? "") === merge.maps &&
    current.metadata?.annotations?.[annotation] === annotations[annotation];
  if (unchanged || (current === undefined && desired.size === 0)) return merge.conflicts;
  data[imageswapMapsKey] = merge.maps;
  if (current === undefined) {
    await client.create(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: target.configMapName, namespace: target.namespace, annotations },
        data,
      },
      { fieldManager, signal },
    );
  } else {
    await client.replace(
      { ...current, metadata: { ...current.metadata, annotations }, data },
      { fieldManager, signal },
    );
  }
  return merge.conflicts;
}
