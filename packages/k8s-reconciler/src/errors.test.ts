// Tests of recognising the library's errors by their brand, also from another copy of the package.
import { brandedError } from "@regmirror/core";
import { expect, it } from "vitest";
import {
  isAlreadyExists,
  isKubernetesApiError,
  isNotFound,
  KubernetesApiError,
  ReconcilerError,
  type ReconcilerErrorCode,
} from "./errors.js";

/** What a second copy of the package would throw: its own classes under the same brand. */
class ReconcilerErrorFromAnotherCopy extends brandedError<ReconcilerErrorCode>(
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
  expect(notFound instanceof KubernetesApiError).toBe(false);
  expect(isKubernetesApiError(notFound)).toBe(true);
  expect(isNotFound(notFound)).toBe(true);
  expect(isAlreadyExists(new KubernetesApiErrorFromAnotherCopy(409, "AlreadyExists"))).toBe(true);

  expect(isKubernetesApiError(new KubernetesApiError(404, "NotFound", "GET /x", "gone"))).toBe(
    true,
  );
  expect(isKubernetesApiError(new ReconcilerError("CLOSED", "closed"))).toBe(false);
  expect(isKubernetesApiError(new ReconcilerErrorFromAnotherCopy("BAD_OPTION", "bad"))).toBe(false);
  expect(isNotFound(new Error("404"))).toBe(false);
});
