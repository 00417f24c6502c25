/**
 * What `rm` names, parsed and routed like a pull: a digest (`sha256:…`), an image
 * (`docker.io/library/alpine:3.20`, `registry:5000/team/app@sha256:…`) or a whole repository
 * (`docker.io/library/alpine`). Names without a registry are Docker Hub's, as in `warm`.
 */
import {
  type ImageReference,
  InvalidReferenceError,
  isDigest,
  parseReference,
  RegistryError,
} from "@regmirror/oci-distribution";
import { hostPathSegment } from "../pull-through/index.js";

export interface TargetRouter {
  /** The upstream name and upstream repository for a client's repository path. */
  route(repositoryPath: string): { upstream: string; repository: string };
  /** How a client names an upstream repository: `<first host>/<repository>`. */
  displayName(upstream: string, repository: string): string;
}

export type RoutedTarget =
  | { kind: "digest"; digest: string }
  | {
      kind: "repository-content";
      upstream: string;
      repository: string;
      /** Neither tag nor digest: the whole repository. */
      tag?: string;
      digest?: string;
    };

/** A target that names nothing the cache could hold; the message says what was wrong. */
export class EvictionTargetError extends Error {
  override readonly name = "EvictionTargetError";
  readonly code = "INVALID_TARGET";
}

const expected =
  "an image (registry/repository:tag or @digest), a repository (registry/repository) or a digest (sha256:…)";

export function parseEvictionTarget(input: string, router: TargetRouter): RoutedTarget {
  const text = typeof input === "string" ? input.trim() : "";
  if (text === "") throw new EvictionTargetError(`nothing to remove: expected ${expected}`);
  if (/^[a-z0-9]+:/.test(text) && !text.includes("/")) {
    if (!isDigest(text)) {
      throw new EvictionTargetError(
        `${JSON.stringify(text)} is not a digest (sha256: and 64 hex digits, or sha512: and 128)`,
      );
    }
    return { kind: "digest", digest: text };
  }
  // Parsed and routed as `warm` and pulls do: no registry means docker.io.
  let reference: ImageReference;
  try {
    reference = parseReference(text, { noDefaultTag: true });
  } catch (error) {
    if (!InvalidReferenceError.isInstance(error)) throw error;
    throw new EvictionTargetError(
      `${JSON.stringify(text)}: ${error.message}; expected ${expected}`,
    );
  }
  let routed: { upstream: string; repository: string };
  try {
    routed = router.route(`${hostPathSegment(reference.registry)}/${reference.repository}`);
  } catch (error) {
    if (RegistryError.isInstance(error)) throw new EvictionTargetError(`${text}: ${error.message}`);
    throw error;
  }
  return {
    kind: "repository-content",
    ...routed,
    ...(reference.tag === undefined ? {} : { tag: reference.tag }),
    ...(reference.digest === undefined ? {} : { digest: reference.digest }),
  };
}
