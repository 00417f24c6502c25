import { z } from "zod";
import { quantity } from "./kubernetes-schemas.js";

// Requests and limits of a container the operator renders (the cache, the node agent), in the
// Kubernetes form: given, they are used as they are; left out, the operator's defaults apply.

const resourceNameExpectation = "a resource name like cpu, memory or ephemeral-storage";

const resourceName = z
  .string({ error: resourceNameExpectation })
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/,
    {
      error: resourceNameExpectation,
    },
  );

/** At most this many resources per map: bounds the API server's CEL cost of the quantity rule. */
const maxResources = 16;

export const resourceRequirements = z.strictObject({
  requests: z
    .record(resourceName, quantity)
    .meta({ maxProperties: maxResources })
    .optional()
    .describe("What the scheduler reserves, like cpu: 100m, memory: 192Mi."),
  limits: z
    .record(resourceName, quantity)
    .meta({ maxProperties: maxResources })
    .optional()
    .describe("The most the container may use, like memory: 512Mi."),
});

/** A container's `resources`, as the pod spec has it. */
export interface ContainerResources {
  readonly requests?: Readonly<Record<string, string | number>>;
  readonly limits?: Readonly<Record<string, string | number>>;
}
