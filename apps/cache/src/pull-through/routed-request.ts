/**
 * A request's repository routed once. The daemon's `resolveRoute` stage routes it; client auth
 * and the pull-through storage use that outcome (ADR 0028). A refusal (a registry that is not
 * configured, a name that is no repository) is kept rather than thrown, so it reaches the
 * client where it did before: from pass-through auth or from the storage, after client auth
 * had its say (an anonymous client still gets its 401 first).
 */
import { RegistryError } from "@regmirror/oci-distribution";
import type { RoutableUpstream, RoutedRepository } from "./registry-router.js";

export type RouteOutcome<U extends RoutableUpstream> = { readonly repositoryPath: string } & (
  | { readonly routed: RoutedRepository<U> }
  | { readonly refusal: RegistryError }
);

interface Router<U extends RoutableUpstream> {
  route(repositoryPath: string): RoutedRepository<U>;
}

/** Routes `repositoryPath`, keeping the router's refusal; any other error is a bug and thrown. */
export function routeRequest<U extends RoutableUpstream>(
  router: Router<U>,
  repositoryPath: string,
): RouteOutcome<U> {
  try {
    return { repositoryPath, routed: router.route(repositoryPath) };
  } catch (error) {
    if (RegistryError.isInstance(error)) return { repositoryPath, refusal: error };
    throw error;
  }
}

/**
 * The request's outcome when it is about `repositoryPath`, else a new one: a call from outside a
 * request (the warm command, tests) has no outcome and is routed here.
 */
export function outcomeFor<U extends RoutableUpstream>(
  router: Router<U>,
  repositoryPath: string,
  outcome: RouteOutcome<U> | undefined,
): RouteOutcome<U> {
  return outcome?.repositoryPath === repositoryPath
    ? outcome
    : routeRequest(router, repositoryPath);
}

/** The upstream and its repository for `repositoryPath`; throws the router's refusal. */
export function routedRepository<U extends RoutableUpstream>(
  router: Router<U>,
  repositoryPath: string,
  outcome: RouteOutcome<U> | undefined,
): RoutedRepository<U> {
  const known = outcomeFor(router, repositoryPath, outcome);
  if ("refusal" in known) throw known.refusal;
  return known.routed;
}
