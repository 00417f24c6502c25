// OperatorError: a problem the operator reports in a mirror's conditions.
import { brandedError } from "@regmirror/core";

export type OperatorErrorCode =
  | "REGMIRROR_OPERATOR_REFERENCED_OBJECT"
  | "REGMIRROR_OPERATOR_BAD_OPTION"
  | "REGMIRROR_OPERATOR_RENDER";

/** A problem the operator reports in a mirror's conditions (never with secret values). */
export class OperatorError extends brandedError<OperatorErrorCode>(
  "@regmirror/operator.OperatorError",
) {
  /** The condition reason it becomes: "CredentialsSecretMissing". */
  readonly reason: string;

  constructor(code: OperatorErrorCode, reason: string, message: string) {
    super(code, message);
    this.reason = reason;
  }
}
