// Every error the library throws: ReconcilerError with a stable code, and API server statuses.
import { brandedError } from "@regmirror/core";

/** Stable codes for what can go wrong in the library; match on `code`, not on messages. */
export type ReconcilerErrorCode =
  /** The API server answered with an HTTP error status (see `statusCode` and `reason`). */
  | "API_STATUS"
  /** The API server could not be reached, or the connection broke before an answer. */
  | "API_UNREACHABLE"
  /** The API server (or something in its place) answered with a body that makes no sense. */
  | "BAD_RESPONSE"
  /** The kubeconfig has no current cluster, or it is unusable. */
  | "BAD_KUBECONFIG"
  /** Discovery does not know the apiVersion/kind asked for. */
  | "UNKNOWN_KIND"
  /** An object passed in lacks a field the operation needs (kind, apiVersion, metadata.name...). */
  | "BAD_OBJECT"
  /** An object is already controlled by a different owner. */
  | "ALREADY_OWNED"
  /** An option is out of range or inconsistent with another. */
  | "BAD_OPTION"
  /** The operation was attempted after `close()`. */
  | "CLOSED";

/** Every error the library throws; `code` is stable, the message names what was wrong. */
export class ReconcilerError extends brandedError<ReconcilerErrorCode>(
  "@regmirror/k8s-reconciler.ReconcilerError",
) {}

/** An HTTP error status from the API server, with the `reason` of its Status object. */
export class KubernetesApiError extends ReconcilerError {
  /** The HTTP status, e.g. 404, 409, 410, 422. */
  readonly statusCode: number;
  /** The Status object's `reason` (NotFound, AlreadyExists, Conflict, Invalid, Expired...). */
  readonly reason: string | undefined;
  /** The method and path requested, for context (never headers or bodies). */
  readonly request: string;

  constructor(statusCode: number, reason: string | undefined, request: string, detail: string) {
    super(
      "API_STATUS",
      `${request} answered ${statusCode}${reason ? ` ${reason}` : ""}: ${detail}`,
    );
    this.name = "KubernetesApiError";
    this.statusCode = statusCode;
    this.reason = reason;
    this.request = request;
  }

  /** 408, 429 and 5xx are worth retrying as they are; other statuses need a change first. */
  get retryable(): boolean {
    return this.statusCode === 408 || this.statusCode === 429 || this.statusCode >= 500;
  }
}

/**
 * True for a KubernetesApiError from any copy of this package: the family's brand, then the code
 * (`KubernetesApiError.isInstance` would recognise every ReconcilerError).
 */
export function isKubernetesApiError(value: unknown): value is KubernetesApiError {
  return ReconcilerError.isInstance(value) && value.code === "API_STATUS";
}

function hasStatus(error: unknown, statusCode: number): boolean {
  return isKubernetesApiError(error) && error.statusCode === statusCode;
}

export const isNotFound = (error: unknown): boolean => hasStatus(error, 404);
export const isConflict = (error: unknown): boolean => hasStatus(error, 409);
export const isGone = (error: unknown): boolean => hasStatus(error, 410);
export const isAlreadyExists = (error: unknown): boolean =>
  isKubernetesApiError(error) && error.reason === "AlreadyExists";
