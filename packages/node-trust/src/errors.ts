// Every error node-trust throws: a NodeTrustError with a stable `code` (README, "Errors").
import { brandedError } from "@regmirror/core";

export type NodeTrustErrorCode =
  | "NODE_TRUST_INVALID_STATE"
  | "NODE_TRUST_INVALID_OPTIONS"
  | "NODE_TRUST_BAD_OWNERSHIP_RECORD"
  | "NODE_TRUST_WRITE_FAILED";

/** Every error this package throws; `code` is stable and safe to match on. */
export class NodeTrustError extends brandedError<NodeTrustErrorCode>(
  "@regmirror/node-trust.NodeTrustError",
) {}

/** One problem in the desired node state or an option, named by its key path (never by a secret value). */
export interface NodeStateIssue {
  path: string;
  message: string;
}

function listIssues(title: string, issues: readonly NodeStateIssue[]): string {
  return `${title}:\n${issues.map((issue) => `  ${issue.path || "(root)"}: ${issue.message}`).join("\n")}`;
}

/** The desired node state is not valid; nothing was written. */
export class InvalidNodeStateError extends NodeTrustError {
  readonly issues: readonly NodeStateIssue[];

  constructor(issues: readonly NodeStateIssue[]) {
    super("NODE_TRUST_INVALID_STATE", listIssues("invalid node trust state", issues));
    this.name = "InvalidNodeStateError";
    this.issues = issues;
  }
}

/** An option of the applier (root, instance, paths) is not valid; nothing was written. */
export class InvalidOptionsError extends NodeTrustError {
  readonly issues: readonly NodeStateIssue[];

  constructor(issues: readonly NodeStateIssue[]) {
    super("NODE_TRUST_INVALID_OPTIONS", listIssues("invalid node trust applier options", issues));
    this.name = "InvalidOptionsError";
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
    this.name = "OwnershipRecordError";
  }
}

/** A file system operation failed part-way; the ownership record keeps what was done. */
export class NodeFileWriteError extends NodeTrustError {
  readonly path: string;

  constructor(path: string, operation: string, options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super("NODE_TRUST_WRITE_FAILED", `could not ${operation} ${path}${cause}`, options);
    this.name = "NodeFileWriteError";
    this.path = path;
  }
}
