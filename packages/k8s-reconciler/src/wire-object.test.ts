// Type tests of WireObject: client-node's models with every Date a string.
import type { V1ConfigMap, V1Deployment, V1Lease } from "@kubernetes/client-node";
import { describe, expectTypeOf, it } from "vitest";
import type { Informer } from "./informer.js";
import type { KubeObject, WireObject } from "./kubernetes-object.js";

// These are checked by the type-check (tsc), where a wrong type fails the build.
describe("WireObject: client-node's model types as the JSON the library hands out", () => {
  it("turns every Date into a string, also in nested objects and arrays", () => {
    expectTypeOf<WireObject<V1ConfigMap>["metadata"]>().toExtend<
      { creationTimestamp?: string } | undefined
    >();
    expectTypeOf<
      NonNullable<NonNullable<WireObject<V1Deployment>["status"]>["conditions"]>[number]
    >().toExtend<{ lastUpdateTime?: string; type: string }>();
    expectTypeOf<NonNullable<WireObject<V1Lease>["spec"]>["renewTime"]>().toEqualTypeOf<
      string | undefined
    >();
  });

  it("fits the library's object type, so typed informers and stores work", () => {
    expectTypeOf<WireObject<V1ConfigMap>>().toExtend<KubeObject>();
    expectTypeOf<WireObject<V1Deployment>>().toExtend<KubeObject>();
    expectTypeOf<Informer<WireObject<V1ConfigMap>>["store"]["get"]>().returns.toEqualTypeOf<
      WireObject<V1ConfigMap> | undefined
    >();
    // The model class itself does not: its timestamps are Dates, which the API never sends.
    expectTypeOf<V1ConfigMap>().not.toExtend<KubeObject>();
  });
});
