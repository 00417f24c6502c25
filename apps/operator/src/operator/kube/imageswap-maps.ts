// ImageSwap (phenixblue/imageswap-webhook) rewrites pod images with a maps ConfigMap whose
// `maps` key holds lines `registry::replacement`. That ConfigMap is shared: the operator adds its
// lines, records which registries it wrote in an annotation, and never touches a line it did not
// write (such a registry is reported as a conflict instead).

export const imageswapMapsKey = "maps";

export function imageswapOwnerAnnotation(mirrorName: string): string {
  return `imageswap.regmirror.dev/${mirrorName}`;
}

export interface ImageswapMerge {
  /** The new `maps` text. */
  maps: string;
  /** Registries this mirror now owns lines for (the annotation's new value). */
  owned: string[];
  /** Registries with a line someone else wrote: left alone. */
  conflicts: string[];
}

function keyOf(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed === "" || trimmed.startsWith("#")) return undefined;
  const separator = trimmed.indexOf("::");
  return separator < 0 ? undefined : trimmed.slice(0, separator);
}

export function parseOwned(annotation: string | undefined): string[] {
  if (!annotation) return [];
  return annotation
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}

/**
 * Merges `desired` (registry -> replacement) into `current` maps text. Lines of registries in
 * `previouslyOwned` are this mirror's to change or remove; every other line is kept as it is.
 */
export function mergeImageswapMaps(
  current: string,
  desired: ReadonlyMap<string, string>,
  previouslyOwned: readonly string[],
): ImageswapMerge {
  const ownedBefore = new Set(previouslyOwned);
  const lines = current === "" ? [] : current.replace(/\n$/, "").split("\n");
  const kept: string[] = [];
  const present = new Set<string>();
  const conflicts: string[] = [];
  for (const line of lines) {
    const key = keyOf(line);
    if (key === undefined || !ownedBefore.has(key)) {
      kept.push(line);
      if (key !== undefined) present.add(key);
    }
    // One of ours: replaced below if still desired, dropped otherwise.
  }
  const owned: string[] = [];
  for (const [registry, replacement] of desired) {
    if (present.has(registry)) {
      conflicts.push(registry);
      continue;
    }
    kept.push(`${registry}::${replacement}`);
    owned.push(registry);
  }
  return { maps: kept.length > 0 ? `${kept.join("\n")}\n` : "", owned, conflicts };
}
