// The one error class of @regmirror/envtest: a stable code and a message that says what to do.
import { errorBrand } from "@regmirror/core";

export type EnvtestErrorCode =
  | "BINARY_NOT_FOUND"
  | "PROCESS_EXITED"
  | "NOT_READY"
  | "INVALID_OPTIONS";

const brand = errorBrand("@regmirror/envtest.EnvtestError");

export class EnvtestError extends Error {
  readonly code: EnvtestErrorCode;

  constructor(code: EnvtestErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EnvtestError";
    this.code = code;
    brand.mark(this);
  }

  /** True for an EnvtestError from any copy of this package. */
  static isInstance(value: unknown): value is EnvtestError {
    return brand.test(value);
  }
}
