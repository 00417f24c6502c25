// The one error class of @regmirror/envtest: a stable code and a message that says what to do.
import { brandedError } from "@regmirror/core";

export type EnvtestErrorCode =
  | "BINARY_NOT_FOUND"
  | "PROCESS_EXITED"
  | "NOT_READY"
  | "INVALID_OPTIONS";

export class EnvtestError extends brandedError<EnvtestErrorCode>(
  "@regmirror/envtest.EnvtestError",
) {}
