// A rendered container's `resources`, from the spec with its defaults applied.
import type { ContainerResources } from "@regmirror/schemas";

/** A container's `resources` in a rendered pod: a copy of the spec's (its defaults applied). */
export function containerResources(resources: ContainerResources): Record<string, unknown> {
  return {
    ...(resources.requests ? { requests: { ...resources.requests } } : {}),
    ...(resources.limits ? { limits: { ...resources.limits } } : {}),
  };
}
