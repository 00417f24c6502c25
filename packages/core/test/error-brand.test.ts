import { expect, test } from "vitest";
import { ContentError, DigestMismatchError, errorBrand } from "../src/index.js";

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
