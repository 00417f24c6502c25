// S3 credentials: static keys, web identity, or the AWS SDK's default chain.
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import { fromTokenFile } from "@aws-sdk/credential-providers";

/** What an AWS SDK credential provider resolves to. */
export interface S3CredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/**
 * How the S3 backend authenticates:
 * - `{ accessKeyId, secretAccessKey }`: static keys;
 * - `{ webIdentityTokenFile, roleArn }`: a web identity (Kubernetes IRSA / OIDC) token file,
 *   exchanged for role credentials through STS AssumeRoleWithWebIdentity, refreshed by the SDK;
 * - a credential provider function of the AWS SDK;
 * - left out: the SDK's default chain (environment variables, then AWS_WEB_IDENTITY_TOKEN_FILE +
 *   AWS_ROLE_ARN as IRSA injects them, shared config files, container and instance metadata).
 */
export type S3Credentials =
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { webIdentityTokenFile: string; roleArn: string; roleSessionName?: string }
  | (() => Promise<S3CredentialIdentity>);

export function resolveS3Credentials(
  credentials: S3Credentials | undefined,
  region: string | undefined,
): S3ClientConfig["credentials"] {
  if (credentials === undefined || typeof credentials === "function") return credentials;
  if ("webIdentityTokenFile" in credentials) {
    return fromTokenFile({
      webIdentityTokenFile: credentials.webIdentityTokenFile,
      roleArn: credentials.roleArn,
      roleSessionName: credentials.roleSessionName,
      clientConfig: region === undefined ? undefined : { region },
    });
  }
  return {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    sessionToken: credentials.sessionToken,
  };
}
