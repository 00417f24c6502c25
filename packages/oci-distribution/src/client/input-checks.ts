/**
 * Checks of what callers pass in, before it becomes part of a URL: a repository name, a tag or
 * a digest from the grammar, nothing else (no `..`, no `?`, no `#`).
 */

import { parseDigest } from "@regmirror/core";
import { InvalidReferenceError, isValidTag, repositoryNameProblem } from "../model/reference.js";

export function checkRepository(repository: string): string {
  const problem = repositoryNameProblem(repository);
  if (problem !== undefined) throw new InvalidReferenceError("repository", problem);
  return repository;
}

/** A manifest reference: a tag or a digest. */
export function checkManifestReference(reference: string): string {
  if (typeof reference === "string" && reference.includes(":")) {
    parseDigest(reference);
    return reference;
  }
  if (!isValidTag(reference)) {
    throw new InvalidReferenceError(
      "tag",
      "a tag is 1-128 of [A-Za-z0-9_.-], not starting with . or -",
    );
  }
  return reference;
}

export function checkDigest(digest: string): string {
  parseDigest(digest);
  return digest;
}
