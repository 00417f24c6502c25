// The webhook's serving certificate: issued from a CA the operator makes, kept in one Secret
// that every replica reads, so the CA bundle in the webhook configurations fits them all.
import {
  isConflict,
  isNotFound,
  type KubeObject,
  type KubernetesClient,
} from "@regmirror/k8s-reconciler";
import {
  type CertificateAndKey,
  createCertificateAuthority,
  issueServingCertificate,
  readCertificate,
} from "../render/certificate-authority.js";
import {
  fieldManager,
  managedByLabel,
  managedByValue,
  webhookCertificateSecretName,
} from "../render/object-names.js";

/** A year; replaced when less than a month is left (at start-up, and while running). */
export const defaultServingLifetimeMs = 365 * 86_400_000;
export const defaultRenewBeforeMs = 30 * 86_400_000;

/** How long a serving certificate lives and how long before its end it is replaced. */
export interface WebhookCertificateLifetime {
  lifetimeMs?: number;
  renewBeforeMs?: number;
}

export interface WebhookTls {
  caPem: string;
  certificatePem: string;
  keyPem: string;
}

function decode(secret: KubeObject, key: string): string | undefined {
  const value = (secret.data as Record<string, string> | undefined)?.[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
}

function usable(
  secret: KubeObject | undefined,
  hosts: readonly string[],
  nowMs: number,
  renewBeforeMs: number,
): WebhookTls | undefined {
  if (!secret) return undefined;
  const caPem = decode(secret, "ca.crt");
  const certificatePem = decode(secret, "tls.crt");
  const keyPem = decode(secret, "tls.key");
  const facts = readCertificate(certificatePem);
  if (!caPem || !certificatePem || !keyPem || !facts) return undefined;
  if (facts.notAfterMs - renewBeforeMs <= nowMs) return undefined;
  if (!hosts.every((host) => facts.hosts.includes(host))) return undefined;
  return { caPem, certificatePem, keyPem };
}

/**
 * The certificate in the Secret when it covers `hosts` and is not due; else a new one (from the
 * Secret's CA when it has one), written with the resourceVersion read: when two replicas race,
 * the loser reads the winner's.
 */
export async function ensureWebhookCertificate(
  options: {
    client: KubernetesClient;
    namespace: string;
    hosts: readonly string[];
    nowMs: number;
    signal?: AbortSignal;
  } & WebhookCertificateLifetime,
): Promise<WebhookTls> {
  const { client, namespace, hosts, nowMs, signal } = options;
  const servingLifetimeMs = options.lifetimeMs ?? defaultServingLifetimeMs;
  const renewBeforeMs = options.renewBeforeMs ?? defaultRenewBeforeMs;
  const reference = {
    apiVersion: "v1",
    kind: "Secret",
    namespace,
    name: webhookCertificateSecretName,
  };
  for (let attempt = 0; ; attempt += 1) {
    let current: KubeObject | undefined;
    try {
      current = await client.get(reference, signal);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const existing = usable(current, hosts, nowMs, renewBeforeMs);
    if (existing) return existing;
    const caPem = current ? decode(current, "ca.crt") : undefined;
    const caKeyPem = current ? decode(current, "ca.key") : undefined;
    const authority: CertificateAndKey =
      caPem && caKeyPem && (readCertificate(caPem)?.notAfterMs ?? 0) - servingLifetimeMs > nowMs
        ? { certificatePem: caPem, keyPem: caKeyPem }
        : await createCertificateAuthority("regmirror operator webhook CA", nowMs);
    const serving = await issueServingCertificate(authority, hosts, nowMs, servingLifetimeMs);
    const encode = (text: string) => Buffer.from(text, "utf8").toString("base64");
    const secret: KubeObject = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: webhookCertificateSecretName,
        namespace,
        labels: { [managedByLabel]: managedByValue, "app.kubernetes.io/component": "webhook" },
        ...(current?.metadata?.resourceVersion
          ? { resourceVersion: current.metadata.resourceVersion }
          : {}),
      },
      type: "kubernetes.io/tls",
      data: {
        "ca.crt": encode(authority.certificatePem),
        "ca.key": encode(authority.keyPem),
        "tls.crt": encode(serving.certificatePem),
        "tls.key": encode(serving.keyPem),
      },
    };
    try {
      if (current) await client.replace(secret, { fieldManager, signal });
      else await client.create(secret, { fieldManager, signal });
      return {
        caPem: authority.certificatePem,
        certificatePem: serving.certificatePem,
        keyPem: serving.keyPem,
      };
    } catch (error) {
      // Another replica wrote it first (409 on create or on a stale resourceVersion): read theirs.
      if (!isConflict(error) || attempt >= 3) throw error;
    }
  }
}

/** The CA bundle for the webhook configurations, from the Secret as it is now. */
export async function readWebhookCaBundle(
  client: KubernetesClient,
  namespace: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    const secret = await client.get(
      { apiVersion: "v1", kind: "Secret", namespace, name: webhookCertificateSecretName },
      signal,
    );
    return decode(secret, "ca.crt");
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** When `tls`'s serving certificate is due for replacement (ms since the epoch). */
export function renewalDueMs(tls: WebhookTls, renewBeforeMs = defaultRenewBeforeMs): number {
  return (readCertificate(tls.certificatePem)?.notAfterMs ?? 0) - renewBeforeMs;
}
