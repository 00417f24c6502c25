// The cache's serving certificate: the user's Secret, or one the operator's CA issues and renews.
import { isIP } from "node:net";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { OperatorError } from "../operator-error.js";
import {
  type CertificateAndKey,
  createCertificateAuthority,
  issueServingCertificate,
  readCertificate,
} from "./certificate-authority.js";
import type { MirrorContext } from "./mirror-context.js";
import { mirrorLabels, serviceDnsNames } from "./object-names.js";

// The TLS material of a mirror: the user's kubernetes.io/tls Secret as it is, or a CA the
// operator keeps in a Secret and a serving certificate it issues from it, renewed before expiry
// and re-issued when the names it must cover change (a new ClusterIP, another ingress host).

export interface TlsOutcome {
  /** Secrets to apply (none in user-secret mode). */
  secrets: KubeObject[];
  /** What nodes should trust. */
  caPem: string;
  /** The serving certificate, part of the rollout hash (pods restart on a new one). */
  certificatePem: string;
  /** When to look again: the renewal time of the certificate (operator CA only). */
  renewAtMs?: number;
}

function decode(secret: KubeObject | undefined, key: string): string | undefined {
  const data = secret?.data as Record<string, string> | undefined;
  const value = data?.[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
}

function encode(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** Every name a client may dial the cache by; all must be in the certificate. */
export function servingHosts(
  context: MirrorContext,
  clusterIp: string,
  extraHosts: readonly string[],
): string[] {
  const { spec, names, namespace } = context;
  const hosts = new Set<string>([
    ...serviceDnsNames(names.cache, namespace),
    ...serviceDnsNames(names.headlessService, namespace),
    `*.${names.headlessService}.${namespace}.svc`,
    `*.${names.headlessService}.${namespace}.svc.cluster.local`,
    spec.masqueradeHost.replace(/:\d+$/, ""),
  ]);
  if (isIP(clusterIp) !== 0) hosts.add(clusterIp);
  if (spec.exposure.type === "Ingress") hosts.add(spec.exposure.host.replace(/:\d+$/, ""));
  for (const host of extraHosts) hosts.add(host);
  return [...hosts].sort();
}

function sameHosts(a: readonly string[], b: readonly string[]): boolean {
  const sorted = [...a].sort();
  return sorted.length === b.length && sorted.every((host, index) => host === b[index]);
}

export async function resolveTls(
  context: MirrorContext,
  clusterIp: string,
  extraHosts: readonly string[],
  findSecret: (name: string) => KubeObject | undefined,
  nowMs: number,
): Promise<TlsOutcome> {
  const { spec, names, namespace, name } = context;
  if (spec.tls.mode === "secret") {
    const secret = findSecret(spec.tls.secretName);
    const certificatePem = decode(secret, "tls.crt");
    if (!secret || !certificatePem || !decode(secret, "tls.key")) {
      throw new OperatorError(
        "REGMIRROR_OPERATOR_REFERENCED_OBJECT",
        "TlsSecretMissing",
        `spec.tls.secretName: Secret ${namespace}/${spec.tls.secretName} ${secret ? "has no tls.crt and tls.key" : "does not exist"}`,
      );
    }
    // A ca.crt key (cert-manager writes one) is what nodes trust; else the certificate itself.
    return { secrets: [], caPem: decode(secret, "ca.crt") ?? certificatePem, certificatePem };
  }
  const { certificateDurationMs, renewBeforeMs } = spec.tls;
  const caSecret = findSecret(names.caSecret);
  let authority: CertificateAndKey | undefined;
  const caPem = decode(caSecret, "ca.crt");
  const caKeyPem = decode(caSecret, "ca.key");
  const caFacts = readCertificate(caPem);
  if (caPem && caKeyPem && caFacts && caFacts.notAfterMs - renewBeforeMs > nowMs) {
    authority = { certificatePem: caPem, keyPem: caKeyPem };
  }
  authority ??= await createCertificateAuthority(`regmirror ${name} CA`, nowMs);

  const hosts = servingHosts(context, clusterIp, extraHosts);
  const tlsSecret = findSecret(names.tlsSecret);
  const currentPem = decode(tlsSecret, "tls.crt");
  const currentKey = decode(tlsSecret, "tls.key");
  const current = readCertificate(currentPem);
  const keep =
    current !== undefined &&
    currentPem !== undefined &&
    currentKey !== undefined &&
    decode(tlsSecret, "ca.crt") === authority.certificatePem &&
    sameHosts(current.hosts, hosts) &&
    current.notAfterMs - renewBeforeMs > nowMs;
  const serving: CertificateAndKey = keep
    ? { certificatePem: currentPem, keyPem: currentKey }
    : await issueServingCertificate(authority, hosts, nowMs, certificateDurationMs);
  const notAfterMs = readCertificate(serving.certificatePem)?.notAfterMs ?? nowMs;
  const labels = mirrorLabels(name, "tls");
  return {
    caPem: authority.certificatePem,
    certificatePem: serving.certificatePem,
    renewAtMs: notAfterMs - renewBeforeMs,
    secrets: [
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: names.caSecret, namespace, labels },
        type: "Opaque",
        data: { "ca.crt": encode(authority.certificatePem), "ca.key": encode(authority.keyPem) },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: names.tlsSecret, namespace, labels },
        type: "kubernetes.io/tls",
        data: {
          "tls.crt": encode(serving.certificatePem),
          "tls.key": encode(serving.keyPem),
          "ca.crt": encode(authority.certificatePem),
        },
      },
    ],
  };
}
