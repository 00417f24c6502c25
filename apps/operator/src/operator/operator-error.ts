// OperatorError: a problem the operator reports in a mirror's conditions.
const errorBrand = Symbol.for("regmirror.OperatorError");

export type OperatorErrorCode =
  | "REGMIRROR_OPERATOR_REFERENCED_OBJECT"
  | "REGMIRROR_OPERATOR_BAD_OPTION"
  | "REGMIRROR_OPERATOR_RENDER";

/** A problem the operator reports in a mirror's conditions (never with secret values). */
export class OperatorError extends Error {
  readonly code: OperatorErrorCode;
  /** The condition reason it becomes: "CredentialsSecretMissing". */
  readonly reason: string;
  readonly [errorBrand] = true;

  constructor(code: OperatorErrorCode, reason: string, message: string) {
    super(message);
    this.name = "OperatorError";
    this.code = code;
    this.reason = reason;
  }

  static isInstance(value: unknown): value is OperatorError {
    return typeof value === "object" && value !== null && errorBrand in value;
  }
}
