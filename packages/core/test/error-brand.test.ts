import { expect, test } from "vitest";
import {
  brandedError,
  ContentError,
  DigestMismatchError,
  errorBrand,
  InvalidDigestError,
  isInvalidDigestError,
} from "../src/index.js";

test("a brand recognises errors of its family from another copy of the package, and no others", () => {
  const brand = errorBrand("@regmirror/example.ExampleError");
  class ExampleError extends Error {
    constructor() {
      super("example");
      brand.mark(this);
    }
  }
  // What a second copy of the package would build: another class, the same registered symbol.
  const fromAnotherCopy = new Error("other copy");
  errorBrand("@regmirror/example.ExampleError").mark(fromAnotherCopy);

  expect(brand.test(new ExampleError())).toBe(true);
  expect(brand.test(fromAnotherCopy)).toBe(true);
  expect(brand.test(new Error("plain"))).toBe(false);
  expect(brand.test(new DigestMismatchError("sha256:a", "sha256:b"))).toBe(false);
  expect(brand.test("ExampleError")).toBe(false);
  expect(brand.test(null)).toBe(false);
  expect(ContentError.isInstance(new DigestMismatchError("sha256:a", "sha256:b"))).toBe(true);
  expect(ContentError.isInstance(new ExampleError())).toBe(false);
});

test("brandedError: a base class with a code, the brand's name, a cause, and isInstance for the family", () => {
  type ExampleCode = "EXAMPLE_BROKEN" | "EXAMPLE_GONE";
  class ExampleError extends brandedError<ExampleCode>("@regmirror/example.ExampleError") {}
  class GoneError extends ExampleError {
    constructor(what: string) {
      super("EXAMPLE_GONE", `${what} is gone`);
      this.name = "GoneError";
    }
  }
  // A second copy of the package builds its own class under the same key.
  class ExampleErrorFromAnotherCopy extends brandedError<ExampleCode>(
    "@regmirror/example.ExampleError",
  ) {}
  const cause = new Error("disk on fire");
  const broken = new ExampleError("EXAMPLE_BROKEN", "the example broke", { cause });

  expect(broken).toMatchObject({ name: "ExampleError", code: "EXAMPLE_BROKEN", cause });
  expect(broken.message).toBe("the example broke");
  expect(new GoneError("the file")).toMatchObject({
    name: "GoneError",
    code: "EXAMPLE_GONE",
    message: "the file is gone",
  });
  expect(ExampleError.isInstance(new GoneError("x"))).toBe(true);
  expect(ExampleError.isInstance(new ExampleErrorFromAnotherCopy("EXAMPLE_BROKEN", "x"))).toBe(
    true,
  );
  expect(ExampleError.isInstance(new DigestMismatchError("sha256:a", "sha256:b"))).toBe(false);
  expect(ContentError.isInstance(broken)).toBe(false);
  expect(ExampleError.isInstance({ code: "EXAMPLE_BROKEN" })).toBe(false);
});

test("isInvalidDigestError recognises an invalid digest from another copy of the package, and no other content error", () => {
  // What a second copy of @regmirror/core would throw: its own class under the same key.
  class ContentErrorFromAnotherCopy extends brandedError<"INVALID_DIGEST" | "DIGEST_MISMATCH">(
    "@regmirror/core.ContentError",
  ) {}
  const fromAnotherCopy = new ContentErrorFromAnotherCopy("INVALID_DIGEST", "invalid digest");

  expect(fromAnotherCopy instanceof InvalidDigestError).toBe(false);
  expect(isInvalidDigestError(fromAnotherCopy)).toBe(true);
  expect(isInvalidDigestError(new InvalidDigestError("no colon", "digest", "sha256"))).toBe(true);
  expect(isInvalidDigestError(new DigestMismatchError("sha256:a", "sha256:b"))).toBe(false);
  expect(isInvalidDigestError(new ContentErrorFromAnotherCopy("DIGEST_MISMATCH", "mismatch"))).toBe(
    false,
  );
  expect(isInvalidDigestError(new Error("invalid digest"))).toBe(false);
});
