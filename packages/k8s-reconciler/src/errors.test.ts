// Tests of recognising the library's errors by their brand, also from another copy of the package.
import { brandedError } from "@regmirror/core";
import { expect, it } from "vitest";
import * as errors from "./errors.js";

/** What a second copy of the package would throw: its own classes under the same brand. */
class ReconcilerErrorFromAnotherCopy extends brandedError<errors.ReconcilerErrorCode>(
  "@regmirror/k8s-reconciler.ReconcilerError",
) {}
class KubernetesApiErrorFromAnotherCopy extends ReconcilerErrorFromAnotherCopy {
  constructor(
    readonly statusCode: number,
    readonly reason: string | undefined,
  ) {
    super("API_STATUS", `GET /x answered ${statusCode}`);
  }
}

it("recognises an API status error from another copy of the package, and no other error", () => {
  const notFound = new KubernetesApiErrorFromAnotherCopy(404, "NotFound");
  expect(notFound instanceof errors.KubernetesApiError).toBe(false);
  expect(errors.isKubernetesApiError(notFound)).toBe(true);
  expect(errors.isNotFound(notFound)).toBe(true);
  expect(errors.isAlreadyExists(new KubernetesApiErrorFromAnotherCopy(409, "AlreadyExists"))).toBe(
    true,
  );

  expect(
    errors.isKubernetesApiError(new errors.KubernetesApiError(404, "NotFound", "GET /x", "gone")),
  ).toBe(true);
  expect(errors.isKubernetesApiError(new errors.ReconcilerError("CLOSED", "closed"))).toBe(false);
  expect(errors.isKubernetesApiError(new ReconcilerErrorFromAnotherCopy("BAD_OPTION", "bad"))).toBe(
    false,
  );
  expect(errors.isNotFound(new Error("404"))).toBe(false);
});
