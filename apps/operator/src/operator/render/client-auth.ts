// Client auth as the operator renders it: the htpasswd Secret's contents and what the status says.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import type { RegistryMirrorSpec } from "@regmirror/schemas";
import { OperatorError } from "../operator-error.js";
import type { MirrorContext } from "./mirror-context.js";

// Who may pull through a mirror (spec.clientAuth): the htpasswd Secret the cache mounts, and the
// UpstreamCredentialsShared condition, which says when anyone who reaches the mirror can pull
// everything its upstream credentials can (docs/adr/0014-fail-closed-client-auth.md).

/** The key of the user's Secret that holds the htpasswd file. */
export const htpasswdKey = "htpasswd";

const bcryptEntry = /^[^:\s]+:\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * The htpasswd file of mode htpasswd, checked the way the cache will read it (bcrypt entries
 * only), so a bad Secret is reported on the mirror instead of crash-looping the cache pods.
 * Problems name the Secret, key and line, never their content. undefined for other modes.
 */
export function readHtpasswdSecret(
  context: MirrorContext,
  findSecret: (name: string) => KubeObject | undefined,
): string | undefined {
  const { clientAuth } = context.spec;
  if (clientAuth.mode !== "htpasswd") return undefined;
  const where = `spec.clientAuth.htpasswdSecret: Secret ${context.namespace}/${clientAuth.htpasswdSecret}`;
  const secret = findSecret(clientAuth.htpasswdSecret);
  if (!secret) {
    throw new OperatorError(
      "REGMIRROR_OPERATOR_REFERENCED_OBJECT",
      "HtpasswdSecretMissing",
      `${where} does not exist`,
    );
  }
  const encoded = (secret.data as Record<string, string> | undefined)?.[htpasswdKey];
  const invalid = (problem: string) =>
    new OperatorError("REGMIRROR_OPERATOR_REFERENCED_OBJECT", "HtpasswdSecretInvalid", problem);
  if (encoded === undefined) throw invalid(`${where} needs the key ${htpasswdKey}`);
  const text = Buffer.from(encoded, "base64").toString("utf8");
  let users = 0;
  for (const [index, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!bcryptEntry.test(line)) {
      throw invalid(
        `${where} key ${htpasswdKey} line ${index + 1}: expected user:bcrypt-hash (htpasswd -B)`,
      );
    }
    users += 1;
  }
  if (users === 0) throw invalid(`${where} key ${htpasswdKey} has no users`);
  return text;
}

export interface AccessCondition {
  status: "True" | "False";
  reason: string;
  message: string;
}

/** UpstreamCredentialsShared: True only for credentials with clientAuth.mode none. */
export function upstreamCredentialsShared(spec: RegistryMirrorSpec): AccessCondition {
  const { clientAuth, credentialsSecret } = spec;
  switch (clientAuth.mode) {
    case "pass-through":
      return {
        status: "False",
        reason: "PassThrough",
        message:
          "each client's own credentials are checked with the upstream before content is served",
      };
    case "htpasswd":
      return {
        status: "False",
        reason: "Htpasswd",
        message: `only users of Secret ${clientAuth.htpasswdSecret} (key ${htpasswdKey}) can pull`,
      };
    case "none":
      return credentialsSecret === null
        ? {
            status: "False",
            reason: "NoUpstreamCredentials",
            message: "the mirror pulls anonymously: clients get what the upstream gives anyone",
          }
        : {
            status: "True",
            reason: "ClientAuthNone",
            message: `clientAuth.mode is none: anyone who reaches the mirror (exposure ${spec.exposure.type}) can pull every image the credentials in Secret ${credentialsSecret.namespace ? `${credentialsSecret.namespace}/` : ""}${credentialsSecret.name} can pull`,
          };
  }
}
