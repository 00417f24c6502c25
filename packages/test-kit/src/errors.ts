// TestKitError: what went wrong while the kit started or drove a component.
import { errorBrand } from "@regmirror/core";

/** Stable codes for what can go wrong while the kit starts or drives a component. */
export type TestKitErrorCode =
  | "BINARY_MISSING"
  | "PORT_IN_USE"
  | "PROCESS_EXITED"
  | "NOT_READY"
  | "COMMAND_FAILED"
  | "TOOL_NOT_BUILT"
  | "BAD_INPUT";

const brand = errorBrand("@regmirror/test-kit.TestKitError");

/** Every error the kit throws; `code` is stable, the message says what to install or change. */
export class TestKitError extends Error {
  readonly code: TestKitErrorCode;

  constructor(code: TestKitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TestKitError";
    this.code = code;
    brand.mark(this);
  }

  /** True for a TestKitError from any copy of the kit. */
  static isInstance(value: unknown): value is TestKitError {
    return brand.test(value);
  }
}
