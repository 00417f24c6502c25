// The upstream credentials Secret the cache mounts, rendered from the user's Secret.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { OperatorError } from "../operator-error.js";
import type { MirrorContext } from "./mirror-context.js";
import { mirrorLabels } from "./object-names.js";

// mirror-operator's credentialsSecret, turned into the Docker config file the cache reads
// (regmirror.upstreams[].credentials.dockerConfig). Accepted: a Secret with `username` and
// `password`, or a kubernetes.io/dockerconfigjson Secret (`.dockerconfigjson`), used as it is.

function decoded(secret: KubeObject, key: string): string | undefined {
  const value = (secret.data as Record<string, string> | undefined)?.[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
}

/** The namespace of the user's credentials Secret: the one the spec names, else the operator's. */
export function credentialsSecretNamespace(context: MirrorContext): string {
  return context.spec.credentialsSecret?.namespace ?? context.namespace;
}

export function renderUpstreamAuthSecret(
  context: MirrorContext,
  /** The user's Secret as read (undefined: it does not exist). */
  secret: KubeObject | undefined,
): KubeObject | undefined {
  const { spec, names, namespace } = context;
  if (spec.credentialsSecret === null) return undefined;
  const where = `spec.credentialsSecret: Secret ${credentialsSecretNamespace(context)}/${spec.credentialsSecret.name}`;
  if (!secret) {
    throw new OperatorError(
      "REGMIRROR_OPERATOR_REFERENCED_OBJECT",
      "CredentialsSecretMissing",
      `${where} does not exist`,
    );
  }
  let configJson = decoded(secret, ".dockerconfigjson");
  if (configJson === undefined) {
    const username = decoded(secret, "username");
    const password = decoded(secret, "password");
    if (!username || password === undefined) {
      throw new OperatorError(
        "REGMIRROR_OPERATOR_REFERENCED_OBJECT",
        "CredentialsSecretInvalid",
        `${where} needs the keys username and password (or .dockerconfigjson)`,
      );
    }
    const auth = Buffer.from(`${username}:${password}`).toString("base64");
    const hosts = new Set([new URL(spec.upstreamUrl).host, ...spec.mirrorOf]);
    configJson = JSON.stringify({
      auths: Object.fromEntries([...hosts].map((host) => [host, { auth }])),
    });
  }
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: names.upstreamAuthSecret,
      namespace,
      labels: mirrorLabels(context.name, "cache"),
    },
    type: "Opaque",
    data: { "config.json": Buffer.from(configJson).toString("base64") },
  };
}
