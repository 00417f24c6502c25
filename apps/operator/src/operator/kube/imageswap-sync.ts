// ImageSwap's shared maps ConfigMap: this mirror's lines written into it, and where they were
// written recorded on the mirror's cache ConfigMap so they can be taken out again.
import { isNotFound, type KubeObject, type KubernetesClient } from "@regmirror/k8s-reconciler";
import type { MirrorContext } from "../render/mirror-context.js";
import { fieldManager } from "../render/object-names.js";
import {
  imageswapMapsKey,
  imageswapOwnerAnnotation,
  mergeImageswapMaps,
  parseOwned,
} from "./imageswap-maps.js";
import type { OwnedInformers } from "./owned-objects.js";

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

/** Where a mirror's lines go: the spec's ConfigMap, else the operator's default. */
export function imageswapTarget(
  context: MirrorContext,
  defaults: { imageswapNamespace: string; imageswapConfigMapName: string },
): ImageswapTarget {
  const { imageswap } = context.spec.nodeConfiguration;
  return {
    namespace: imageswap.namespace ?? defaults.imageswapNamespace,
    configMapName: imageswap.configMapName ?? defaults.imageswapConfigMapName,
  };
}

const imageswapRecordAnnotation = "regmirror.dev/imageswap-target";

export function formatImageswapTarget(target: ImageswapTarget): string {
  return `${target.namespace}/${target.configMapName}`;
}

/** The cache ConfigMap with a note of where the mirror's ImageSwap lines are (none: as it is). */
export function withImageswapRecord(
  configMap: KubeObject,
  target: ImageswapTarget | undefined,
): KubeObject {
  if (!target) return configMap;
  return {
    ...configMap,
    metadata: {
      ...configMap.metadata,
      annotations: { [imageswapRecordAnnotation]: formatImageswapTarget(target) },
    },
  };
}

/** Where this mirror last wrote ImageSwap lines (kept on its cache config ConfigMap). */
export function recordedImageswapTarget(
  informers: OwnedInformers,
  namespace: string,
  cacheConfigMap: string,
): ImageswapTarget | undefined {
  const configMap = informers.ConfigMap.store.get(`${namespace}/${cacheConfigMap}`);
  const recorded = configMap?.metadata?.annotations?.[imageswapRecordAnnotation];
  const slash = recorded?.indexOf("/") ?? -1;
  if (!recorded || slash < 0) return undefined;
  return { namespace: recorded.slice(0, slash), configMapName: recorded.slice(slash + 1) };
}
