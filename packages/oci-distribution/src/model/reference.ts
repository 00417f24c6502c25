/**
 * Image references (`[registry/]repository[:tag][@digest]`), parsed and normalized the way
 * Docker and containerd do it: `nginx` is `docker.io/library/nginx:latest`.
 * Grammar: https://github.com/distribution/reference/blob/v0.6.0/reference.go
 * Repository names: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
 */
import { brandedError, isInvalidDigestError, parseDigest } from "@regmirror/core";

// The grammar, piece by piece (the distribution/reference regular expressions).
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const repositoryPath = `${pathComponent}(?:/${pathComponent})*`;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6Address = "\\[[a-fA-F0-9:]+\\]";
const host = `(?:${domainName}|${ipv6Address})`;
const port = ":[0-9]+";
const domainAndPort = `${host}(?:${port})?`;
const tag = "[\\w][\\w.-]{0,127}";

const anchored = (source: string) => new RegExp(`^${source}$`);
const repositoryPattern = anchored(repositoryPath);
const registryPattern = anchored(domainAndPort);
const tagPattern = anchored(tag);

/** Docker Hub's name in references, and the hosts that mean the same registry. */
export const DOCKER_HUB_REGISTRY = "docker.io";
/** The host that serves Docker Hub's registry API. */
export const dockerHubRegistryHost = "registry-1.docker.io";
const dockerHubAliases = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** Clients limit `registry/repository` to 255 characters; we do too. */
export const MAXIMUM_NAME_LENGTH = 255;
/** Refuse longer input before any regular expression sees it. */
const maximumReferenceLength = 4096;

export interface ImageReference {
  /** Normalized registry host (with port): `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path inside the registry: `library/nginx`. */
  repository: string;
  /** `latest` when the input named neither a tag nor a digest. */
  tag?: string;
  digest?: string;
}

export type ReferencePart = "reference" | "registry" | "repository" | "tag" | "digest";

/** A reference that cannot be parsed; `part` says which piece is wrong. */
export class InvalidReferenceError extends brandedError<"INVALID_REFERENCE">(
  "@regmirror/oci-distribution.InvalidReferenceError",
) {
  constructor(
    readonly part: ReferencePart,
    readonly reason: string,
  ) {
    super("INVALID_REFERENCE", `invalid image reference: ${part}: ${reason}`);
  }
}

/** Maps Docker Hub's aliases to `docker.io` and lowercases nothing else. */
export function normalizeRegistryHost(registry: string): string {
  return dockerHubAliases.has(registry.toLowerCase()) ? DOCKER_HUB_REGISTRY : registry;
}

/** The host to send API requests to: `registry-1.docker.io` for Docker Hub. */
export function registryApiHost(registry: string): string {
  return normalizeRegistryHost(registry) === DOCKER_HUB_REGISTRY ? dockerHubRegistryHost : registry;
}

export function isDockerHub(registry: string): boolean {
  return normalizeRegistryHost(registry) === DOCKER_HUB_REGISTRY;
}

export function isValidRepositoryName(name: unknown): name is string {
  return repositoryNameProblem(name) === undefined;
}

/** Why a repository name is not valid, or undefined when it is. */
export function repositoryNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || name.length === 0) return "empty repository name";
  if (name.length > MAXIMUM_NAME_LENGTH) {
    return `longer than ${MAXIMUM_NAME_LENGTH} characters`;
  }
  // Asked on every request: a valid name passes the grammar alone, without the splitting below,
  // which only finds the words for what is wrong.
  if (repositoryPattern.test(name)) return undefined;
  if (name.split("/").some((segment) => segment.length === 0)) return "empty path segment";
  if (name.split("/").some((segment) => segment === "." || segment === "..")) {
    return '"." or ".." path segment';
  }
  if (name !== name.toLowerCase()) return "must be lowercase";
  if (!repositoryPattern.test(name)) {
    return "path segments are lowercase letters and digits joined by '.', '_', '__' or dashes";
  }
  return undefined;
}

export function isValidTag(value: unknown): value is string {
  return typeof value === "string" && value.length <= 128 && tagPattern.test(value);
}

export function isValidRegistryHost(value: unknown): value is string {
  return (
    typeof value === "string" && value.length <= MAXIMUM_NAME_LENGTH && registryPattern.test(value)
  );
}

/** The first path component is a registry when it looks like a host (Docker's rule). */
function looksLikeRegistry(component: string): boolean {
  return (
    component.includes(".") ||
    component.includes(":") ||
    component === "localhost" ||
    component !== component.toLowerCase()
  );
}

export interface ParseReferenceOptions {
  /** Registry for names without one (`docker.io` unless given). */
  defaultRegistry?: string;
  /** Leave the tag undefined instead of `latest` when neither tag nor digest is given. */
  noDefaultTag?: boolean;
}

export function parseReference(input: string, options: ParseReferenceOptions = {}): ImageReference {
  if (typeof input !== "string" || input.length === 0) {
    throw new InvalidReferenceError("reference", "empty reference");
  }
  if (input.length > maximumReferenceLength) {
    throw new InvalidReferenceError("reference", "too long");
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch (error) {
      if (isInvalidDigestError(error)) throw new InvalidReferenceError("digest", error.reason);
      throw error;
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) {
      throw new InvalidReferenceError(
        "tag",
        "up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
      );
    }
  }
  if (rest.length === 0) throw new InvalidReferenceError("repository", "empty repository name");

  let registry = options.defaultRegistry ?? DOCKER_HUB_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
  }
  if (!isValidRegistryHost(registry)) {
    throw new InvalidReferenceError(
      "registry",
      "not a host name, IPv4 or [IPv6] address with an optional port",
    );
  }
  registry = normalizeRegistryHost(registry);
  if (registry === DOCKER_HUB_REGISTRY && repository.length > 0 && !repository.includes("/")) {
    repository = `library/${repository}`;
  }
  const problem = repositoryNameProblem(repository);
  if (problem !== undefined) throw new InvalidReferenceError("repository", problem);
  if (registry.length + 1 + repository.length > MAXIMUM_NAME_LENGTH) {
    throw new InvalidReferenceError(
      "repository",
      `registry and repository together are longer than ${MAXIMUM_NAME_LENGTH} characters`,
    );
  }
  if (tag === undefined && digest === undefined && !options.noDefaultTag) tag = "latest";
  const reference: ImageReference = { registry, repository };
  if (tag !== undefined) reference.tag = tag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** `registry/repository[:tag][@digest]`, the fully qualified form. */
export function formatReference(reference: ImageReference): string {
  let text = `${reference.registry}/${reference.repository}`;
  if (reference.tag !== undefined) text += `:${reference.tag}`;
  if (reference.digest !== undefined) text += `@${reference.digest}`;
  return text;
}

/** The short form people type: `nginx:latest`, `user/app@sha256:...`. */
export function formatFamiliarReference(reference: ImageReference): string {
  let name = `${reference.registry}/${reference.repository}`;
  if (reference.registry === DOCKER_HUB_REGISTRY) {
    name = reference.repository.startsWith("library/")
      ? reference.repository.slice("library/".length)
      : reference.repository;
  }
  return formatReference({ ...reference, registry: "", repository: name }).slice(1);
}
