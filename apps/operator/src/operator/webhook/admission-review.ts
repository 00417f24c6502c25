// admission.k8s.io/v1 AdmissionReview: the request as the API server sends it, and our answer.
import type { JsonPatchOperation } from "./image-rewrite.js";

export interface AdmissionRequest {
  uid: string;
  /** The object's kind, e.g. "Pod". */
  kind: string;
  /** "" for the object itself, "ephemeralcontainers" for `kubectl debug`. */
  subResource: string;
  namespace: string;
  operation: string;
  object: unknown;
}

/** A review that cannot be read; `uid` is known when the request got that far. */
export class MalformedReviewError extends Error {
  constructor(
    message: string,
    readonly uid = "",
  ) {
    super(message);
  }
}

/** The request of an AdmissionReview body, or MalformedReviewError saying what is wrong. */
export function parseAdmissionReview(body: string): AdmissionRequest {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch {
    throw new MalformedReviewError("the body is not JSON");
  }
  if (!isRecord(review) || review.kind !== "AdmissionReview") {
    throw new MalformedReviewError("the body is not an AdmissionReview (kind)");
  }
  if (review.apiVersion !== "admission.k8s.io/v1") {
    throw new MalformedReviewError(
      `AdmissionReview apiVersion "${String(review.apiVersion)}" is not admission.k8s.io/v1`,
    );
  }
  const request = review.request;
  if (!isRecord(request) || typeof request.uid !== "string" || request.uid === "") {
    throw new MalformedReviewError("the AdmissionReview has no request.uid");
  }
  const kind = isRecord(request.kind) ? request.kind.kind : undefined;
  if (typeof kind !== "string") {
    throw new MalformedReviewError("the AdmissionReview has no request.kind.kind", request.uid);
  }
  return {
    uid: request.uid,
    kind,
    subResource: typeof request.subResource === "string" ? request.subResource : "",
    namespace: typeof request.namespace === "string" ? request.namespace : "",
    operation: typeof request.operation === "string" ? request.operation : "",
    object: request.object,
  };
}

/** An answer that always admits: with a patch when there is one, with warnings for the user. */
export function admissionResponse(
  uid: string,
  patch: readonly JsonPatchOperation[],
  warnings: readonly string[],
): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid,
      allowed: true,
      ...(patch.length > 0
        ? {
            patchType: "JSONPatch",
            patch: Buffer.from(JSON.stringify(patch), "utf8").toString("base64"),
          }
        : {}),
      ...(warnings.length > 0
        ? { warnings: warnings.map((warning) => `regmirror: ${warning}`) }
        : {}),
    },
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
