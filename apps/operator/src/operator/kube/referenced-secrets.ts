// The user's Secrets a mirror names, read fresh from the API server.
import {
  isKubernetesApiError,
  type KubeObject,
  type KubernetesClient,
} from "@regmirror/k8s-reconciler";
import type { RegistryMirrorSpec } from "@regmirror/schemas";
import { OperatorError } from "../operator-error.js";
import type { MirrorContext } from "../render/mirror-context.js";
import { credentialsSecretNamespace } from "../render/upstream-credentials.js";
import { readOptional } from "./owned-objects.js";

// The Secrets a reconcile reads: the operator's CA, serving certificate and admin credential, the user's TLS
// Secret and htpasswd Secret, and the user's upstream credentials, which may live in another namespace (where
// mirror-operator kept them). Read fresh from the API server, never from the informer cache.

/**
 * The user's Secrets in the operator's namespace that `spec` names (TLS, htpasswd, S3 and
 * upstream credentials): a change of one of them reconciles the mirror.
 */
export function userSecretNames(spec: RegistryMirrorSpec, operatorNamespace: string): string[] {
  const names: string[] = [];
  if (spec.tls.mode === "secret") names.push(spec.tls.secretName);
  if (spec.clientAuth.mode === "htpasswd") names.push(spec.clientAuth.htpasswdSecret);
  if (spec.storage.kind === "s3" && spec.storage.credentials.mode === "static") {
    names.push(spec.storage.credentials.secretName);
  }
  const credentials = spec.credentialsSecret;
  if (credentials !== null && (credentials.namespace ?? operatorNamespace) === operatorNamespace) {
    names.push(credentials.name);
  }
  return names;
}

export interface ReferencedSecrets {
  /** A Secret in the operator's namespace by name; undefined when it does not exist. */
  find(name: string): KubeObject | undefined;
  /** The user's credentials Secret; undefined when it does not exist or none is named. */
  credentials: KubeObject | undefined;
}

export async function readReferencedSecrets(
  client: KubernetesClient,
  context: MirrorContext,
  signal?: AbortSignal,
): Promise<ReferencedSecrets> {
  const { spec, names, namespace } = context;
  const read = (secretNamespace: string, name: string) =>
    readOptional(
      client,
      { apiVersion: "v1", kind: "Secret", namespace: secretNamespace, name },
      signal,
    );
  const byName = new Map<string, KubeObject | undefined>();
  const local = [names.caSecret, names.tlsSecret, names.adminSecret, names.peerSecret];
  if (spec.tls.mode === "secret") local.push(spec.tls.secretName);
  if (spec.clientAuth.mode === "htpasswd") local.push(spec.clientAuth.htpasswdSecret);
  for (const name of local) byName.set(name, await read(namespace, name));
  let credentials: KubeObject | undefined;
  if (spec.credentialsSecret !== null) {
    const secretNamespace = credentialsSecretNamespace(context);
    try {
      credentials = await read(secretNamespace, spec.credentialsSecret.name);
    } catch (error) {
      if (isKubernetesApiError(error) && error.statusCode === 403) {
        throw new OperatorError(
          "REGMIRROR_OPERATOR_REFERENCED_OBJECT",
          "CredentialsSecretForbidden",
          `spec.credentialsSecret: the operator may not read Secret ${secretNamespace}/${spec.credentialsSecret.name}: grant its ServiceAccount get on Secrets in ${secretNamespace} (Helm value credentialsSecretNamespaces: [${secretNamespace}])`,
        );
      }
      throw error;
    }
  }
  return { find: (name) => byName.get(name), credentials };
}
