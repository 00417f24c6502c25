/**
 * What `rm` names, parsed and routed like a pull: a digest (`sha256:…`), an image
 * (`docker.io/library/alpine:3.20`, `registry:5000/team/app@sha256:…`) or a whole repository
 * (`docker.io/library/alpine`). Names without a registry go to the default upstream, as pulls do.
 */
import { isDigest, isRegistryError, isValidTag } from "@regmirror/oci-distribution";
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
  if (text === "" || text.length > 4096) {
    throw new EvictionTargetError(`nothing to remove: expected ${expected}`);
  }
  if (/^[a-z0-9]+:/.test(text) && !text.includes("/")) {
    if (!isDigest(text)) {
      throw new EvictionTargetError(
        `${JSON.stringify(text)} is not a digest (sha256: and 64 hex digits, or sha512: and 128)`,
      );
    }
    return { kind: "digest", digest: text };
  }
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) {
      throw new EvictionTargetError(`${JSON.stringify(digest)} after @ is not a digest`);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new EvictionTargetError(`${JSON.stringify(tag)} is not a tag`);
  }
  // A registry with a port travels in repository paths as host_port, as in pulls.
  const slash = rest.indexOf("/");
  const first = slash < 0 ? rest : rest.slice(0, slash);
  const path = first.includes(":") ? `${hostPathSegment(first)}${rest.slice(first.length)}` : rest;
  let routed: { upstream: string; repository: string };
  try {
    routed = router.route(path);
  } catch (error) {
    if (isRegistryError(error)) throw new EvictionTargetError(`${text}: ${error.message}`);
    throw error;
  }
  return {
    kind: "repository-content",
    ...routed,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}
