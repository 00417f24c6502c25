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
  const password = readSecretValue(secret, adminPasswordKey);
  return password === undefined ? undefined : { username: adminUsername, password };
}

function readSecretValue(secret: KubeObject | undefined, key: string): string | undefined {
  const encoded = (secret?.data as Record<string, string> | undefined)?.[key];
  return encoded ? Buffer.from(encoded, "base64").toString("utf8") : undefined;
}

/** The admin Secret with the password it already holds, or a new random one. */
export function renderAdminSecret(
  context: MirrorContext,
  existing: KubeObject | undefined,
): { secret: KubeObject; credential: AdminCredential } {
  const { secret, value } = renderKeptRandomSecret(context, existing, {
    name: context.names.adminSecret,
    key: adminPasswordKey,
    component: "admin",
    bytes: 24,
    extra: { username: adminUsername },
  });
  return { secret, credential: { username: adminUsername, password: value } };
}

/** A Secret whose `key` keeps the value it already holds, or gets `bytes` random bytes (base64url). */
export function renderKeptRandomSecret(
  context: MirrorContext,
  existing: KubeObject | undefined,
  options: {
    name: string;
    key: string;
    component: string;
    bytes: number;
    extra?: Record<string, string>;
  },
): { secret: KubeObject; value: string } {
  const value =
    readSecretValue(existing, options.key) ?? randomBytes(options.bytes).toString("base64url");
  const data: Record<string, string> = {};
  for (const [key, text] of Object.entries({ ...options.extra, [options.key]: value })) {
    data[key] = Buffer.from(text).toString("base64");
  }
  return {
    value,
    secret: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: options.name,
        namespace: context.namespace,
        labels: mirrorLabels(context.name, options.component),
      },
      type: "Opaque",
      data,
    },
  };
}
