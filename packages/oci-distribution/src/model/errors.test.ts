// Tests of RegistryError and the OCI error body.
import { describe, expect, it } from "vitest";
import { parseErrorBody, RegistryError } from "./errors.js";

describe("RegistryError", () => {
  it("carries the code's status and the OCI error body", () => {
    const error = new RegistryError("BLOB_UNKNOWN", { detail: { digest: "sha256:x" } });
    expect(error.status).toBe(404);
    expect(error.retryable).toBe(false);
    expect(error.toErrorBody()).toEqual({
      errors: [
        {
          code: "BLOB_UNKNOWN",
          message: "blob unknown to registry",
          detail: { digest: "sha256:x" },
        },
      ],
    });
    expect(new RegistryError("TOOMANYREQUESTS").retryable).toBe(true);
    expect(new RegistryError("UNAVAILABLE").retryable).toBe(true);
  });

  it("is recognised across copies of the library through its Symbol.for brand", () => {
    const foreign = Object.defineProperty(
      new Error("x"),
      Symbol.for("@regmirror/oci-distribution.RegistryError"),
      { value: true },
    );
    expect(RegistryError.isInstance(foreign)).toBe(true);
    expect(RegistryError.isInstance(new Error("x"))).toBe(false);
    expect(RegistryError.isInstance(null)).toBe(false);
  });

  it("reads error bodies leniently", () => {
    expect(parseErrorBody('{"errors":[{"code":"DENIED","message":"no"},{"x":1}]}')).toEqual([
      { code: "DENIED", message: "no", detail: undefined },
    ]);
    expect(parseErrorBody("<html>")).toBeUndefined();
  });
});
