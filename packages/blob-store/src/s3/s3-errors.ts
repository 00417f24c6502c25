// AWS SDK errors mapped to the blob store's errors.
import { BucketNotFoundError, S3CredentialsRejectedError } from "../errors.js";

interface S3ServiceError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function asServiceError(error: unknown): S3ServiceError {
  return typeof error === "object" && error !== null ? (error as S3ServiceError) : {};
}

export function s3ErrorName(error: unknown): string | undefined {
  const serviceError = asServiceError(error);
  return serviceError.name ?? serviceError.Code;
}

export function s3Status(error: unknown): number | undefined {
  return asServiceError(error).$metadata?.httpStatusCode;
}

const credentialErrors = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "Forbidden",
  "ExpiredToken",
  "InvalidToken",
  // versitygw's answer (with status 404) to an access key it does not know.
  "XAdminUserNotFound",
]);

/** A missing object: GetObject says NoSuchKey, HeadObject only has a 404 without a body. */
export function isMissingObject(error: unknown): boolean {
  const name = s3ErrorName(error);
  return name === "NoSuchKey" || (name === "NotFound" && s3Status(error) === 404);
}

/** Missing bucket and rejected credentials become typed errors; the SDK error is the cause. */
export function mapS3Error(error: unknown, bucket: string): unknown {
  const name = s3ErrorName(error);
  if (name === "NoSuchBucket") return new BucketNotFoundError(bucket, error);
  const status = s3Status(error);
  if ((name !== undefined && credentialErrors.has(name)) || status === 401 || status === 403) {
    return new S3CredentialsRejectedError(bucket, error);
  }
  return error;
}
