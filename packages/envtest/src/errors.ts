// The one error class of @regmirror/envtest: a stable code and a message that says what to do.

export type EnvtestErrorCode =
  | "BINARY_NOT_FOUND"
  | "PROCESS_EXITED"
  | "NOT_READY"
  | "INVALID_OPTIONS";

const brand = Symbol.for("@regmirror/envtest/EnvtestError");

export class EnvtestError extends Error {
  readonly code: EnvtestErrorCode;

  constructor(code: EnvtestErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EnvtestError";
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  /** True for an EnvtestError from any copy of this package. */
  static isInstance(value: unknown): value is EnvtestError {
    return typeof value === "object" && value !== null && brand in value;
  }
}
