// TestKitError: what went wrong while the kit started or drove a component.
import { brandedError } from "@regmirror/core";

/** Stable codes for what can go wrong while the kit starts or drives a component. */
export type TestKitErrorCode =
  | "BINARY_MISSING"
  | "PORT_IN_USE"
  | "PROCESS_EXITED"
  | "NOT_READY"
  | "COMMAND_FAILED"
  | "TOOL_NOT_BUILT"
  | "BAD_INPUT";

/** Every error the kit throws; `code` is stable, the message says what to install or change. */
export class TestKitError extends brandedError<TestKitErrorCode>(
  "@regmirror/test-kit.TestKitError",
) {}
