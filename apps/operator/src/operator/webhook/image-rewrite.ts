// Rewrites a pod's images from mirrored registries to the mirror: the JSON patch and its record.
import { InvalidReferenceError, parseReference } from "@regmirror/oci-distribution";
import { isRecord } from "./admission-review.js";

/** What one mirror's webhook rewrites: registry hosts (normalised) to the path segment the cache routes by. */
export interface RewriteRules {
  /** host[:port] nodes pull the mirror from, e.g. 10.96.0.10:443. */
  mirrorHost: string;
  /** Normalised registry host (`docker.io`) → the cache's path prefix for it (`docker.io`, `127.0.0.1_5000`). */
  registries: ReadonlyMap<string, string>;
}

/** The annotation that records each rewritten image's original reference. */
export const originalImagesAnnotation = "regmirror.dev/original-images";

export const containerLists = ["containers", "initContainers", "ephemeralContainers"] as const;
export type ContainerList = (typeof containerLists)[number];

export interface JsonPatchOperation {
  op: "add" | "replace";
  path: string;
  value: unknown;
}

export interface PodRewrite {
  patch: JsonPatchOperation[];
  /** "initContainers/setup: nginx → 10.96.0.10:443/docker.io/library/nginx:latest" per image. */
  rewritten: string[];
  /** Images left alone because they cannot be parsed, said in words. */
  warnings: string[];
}

interface ContainerLike {
  name?: unknown;
  image?: unknown;
}

/** The mirror reference of `image`, or undefined when its registry is not mirrored. */
export function mirroredImage(image: string, rules: RewriteRules): string | undefined {
  // Normalised as the runtime does: `nginx` is docker.io/library/nginx:latest.
  const reference = parseReference(image);
  const segment = rules.registries.get(reference.registry);
  if (segment === undefined) return undefined;
  let rewritten = `${rules.mirrorHost}/${segment}/${reference.repository}`;
  if (reference.tag !== undefined) rewritten += `:${reference.tag}`;
  if (reference.digest !== undefined) rewritten += `@${reference.digest}`;
  return rewritten;
}

/**
 * The JSON patch that points every container, init container and ephemeral container image of
 * a mirrored registry at the mirror, and adds the originals to the annotation. An image already
 * on the mirror is on no mirrored registry, so running it twice changes nothing.
 */
export function rewritePodImages(
  pod: unknown,
  rules: RewriteRules,
  lists: readonly ContainerList[] = containerLists,
): PodRewrite {
  const result: PodRewrite = { patch: [], rewritten: [], warnings: [] };
  const podObject = isRecord(pod) ? pod : {};
  const spec = isRecord(podObject.spec) ? podObject.spec : {};
  const metadata = isRecord(podObject.metadata) ? podObject.metadata : {};
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : undefined;
  const originals = readOriginals(annotations?.[originalImagesAnnotation]);
  for (const list of lists) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    containers.forEach((container: ContainerLike, index) => {
      const image = isRecord(container) ? container.image : undefined;
      const name = isRecord(container) ? String(container.name ?? index) : String(index);
      if (typeof image !== "string" || image === "") return;
      let mirrored: string | undefined;
      try {
        mirrored = mirroredImage(image, rules);
      } catch (error) {
        if (!InvalidReferenceError.isInstance(error)) throw error;
        result.warnings.push(
          `${list}/${name}: image "${image}" left as it is: ${(error as Error).message}`,
        );
        return;
      }
      if (mirrored === undefined || mirrored === image) return;
      result.patch.push({ op: "replace", path: `/spec/${list}/${index}/image`, value: mirrored });
      result.rewritten.push(`${list}/${name}: ${image} → ${mirrored}`);
      originals[`${list}/${name}`] = image;
    });
  }
  if (result.patch.length === 0) return result;
  const recorded = JSON.stringify(originals);
  result.patch.push(
    annotations === undefined
      ? {
          op: "add",
          path: "/metadata/annotations",
          value: { [originalImagesAnnotation]: recorded },
        }
      : {
          op: "add",
          path: `/metadata/annotations/${escapePointer(originalImagesAnnotation)}`,
          value: recorded,
        },
  );
  return result;
}

/** The annotation's map (container → original image), kept when a pod is rewritten again. */
function readOriginals(value: unknown): Record<string, string> {
  if (typeof value !== "string") return {};
  try {
    const parsed: unknown = JSON.parse(value);
    if (!isRecord(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter(
        (entry): entry is [string, string] => typeof entry[1] === "string",
      ),
    );
  } catch {
    return {};
  }
}

/** JSON pointer escaping (RFC 6901): `~` → `~0`, `/` → `~1`. */
function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}
