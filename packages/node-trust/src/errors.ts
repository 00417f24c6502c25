/** Every error this package throws; `code` is stable and safe to match on. */
export class NodeTrustError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem in the desired node state, named by its key path (never by a secret value). */
export interface NodeStateIssue {
  path: string;
  message: string;
}

/** The desired node state (or an applier option) is not valid; nothing was written. */
export class InvalidNodeStateError extends NodeTrustError {
  readonly issues: readonly NodeStateIssue[];

  constructor(issues: readonly NodeStateIssue[]) {
    const lines = issues.map((issue) => `  ${issue.path || "(root)"}: ${issue.message}`);
    super("NODE_TRUST_INVALID_STATE", `invalid node trust state:\n${lines.join("\n")}`);
    this.issues = issues;
  }
}

/** The applier's own record of what it wrote cannot be read; it refuses to guess. */
export class OwnershipRecordError extends NodeTrustError {
  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(
      "NODE_TRUST_BAD_OWNERSHIP_RECORD",
      `cannot use ownership record ${path}: ${reason}`,
      options,
    );
  }
}

/** A file system operation failed part-way; the ownership record keeps what was done. */
export class NodeFileWriteError extends NodeTrustError {
  readonly path: string;

  constructor(path: string, operation: string, options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super("NODE_TRUST_WRITE_FAILED", `could not ${operation} ${path}${cause}`, options);
    this.path = path;
  }
}
