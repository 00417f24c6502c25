// The cache's admin credential (warm-ahead): a Secret the operator makes once and keeps, given to
// the cache through the environment so the cache config ConfigMap holds no secret.
import { randomBytes } from "node:crypto";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import type { MirrorContext } from "./mirror-context.js";
import { mirrorLabels } from "./object-names.js";

export const adminUsername = "admin";
export const adminPasswordKey = "password";
/** ADR 0019: REGISTRY_* variables set cache config keys; this one sets regmirror.admin.password. */
export const adminPasswordVariable = "REGISTRY_REGMIRROR_ADMIN_PASSWORD";

export interface AdminCredential {
  username: string;
  password: string;
}

/** The password in the Secret as it is; undefined when it has none. */
export function readAdminCredential(secret: KubeObject | undefined): AdminCredential | undefined {
  const encoded = (secret?.data as Record<string, string> | undefined)?.[adminPasswordKey];
  if (!encoded) return undefined;
  return { username: adminUsername, password: Buffer.from(encoded, "base64").toString("utf8") };
}

/** The admin Secret with the password it already holds, or a new random one. */
export function renderAdminSecret(
  context: MirrorContext,
  existing: KubeObject | undefined,
): { secret: KubeObject; credential: AdminCredential } {
  const credential = readAdminCredential(existing) ?? {
    username: adminUsername,
    password: randomBytes(24).toString("base64url"),
  };
  return {
    credential,
    secret: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: context.names.adminSecret,
        namespace: context.namespace,
        labels: mirrorLabels(context.name, "admin"),
      },
      type: "Opaque",
      data: {
        username: Buffer.from(credential.username).toString("base64"),
        [adminPasswordKey]: Buffer.from(credential.password).toString("base64"),
      },
    },
  };
}
