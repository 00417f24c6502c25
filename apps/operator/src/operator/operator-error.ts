// OperatorError: a problem the operator reports in a mirror's conditions.
import { errorBrand } from "@regmirror/core";

const brand = errorBrand("@regmirror/operator.OperatorError");

export type OperatorErrorCode =
  | "REGMIRROR_OPERATOR_REFERENCED_OBJECT"
  | "REGMIRROR_OPERATOR_BAD_OPTION"
  | "REGMIRROR_OPERATOR_RENDER";

/** A problem the operator reports in a mirror's conditions (never with secret values). */
export class OperatorError extends Error {
  readonly code: OperatorErrorCode;
  /** The condition reason it becomes: "CredentialsSecretMissing". */
  readonly reason: string;

  constructor(code: OperatorErrorCode, reason: string, message: string) {
    super(message);
    this.name = "OperatorError";
    this.code = code;
    this.reason = reason;
    brand.mark(this);
  }

  /** True for an OperatorError, whichever copy of the module made it. */
  static isInstance(value: unknown): value is OperatorError {
    return brand.test(value);
  }
}
