/** Errors the pull-through storage raises itself (not registry answers); each has a stable code. */
export type PullThroughErrorCode = "UPSTREAM_CA_UNREADABLE" | "INVALID_OPTIONS";

export class PullThroughError extends Error {
  override readonly name = "PullThroughError";
  constructor(
    readonly code: PullThroughErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}
