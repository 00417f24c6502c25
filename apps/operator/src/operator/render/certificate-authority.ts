// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";

// The CA the operator makes for a mirror without a user certificate, and the cache's serving
// certificate it issues. ECDSA P-256: small, and accepted by containerd, Docker and CRI-O.

const signingAlgorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** Backdating absorbs nodes whose clocks run a little behind. */
const backdateMs = 60 * 60 * 1000;
/** The CA outlives many serving certificates; it is replaced when it nears its end too. */
export const caLifetimeMs = 5 * 365 * 86_400_000;

export interface CertificateAndKey {
  certificatePem: string;
  keyPem: string;
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(signingAlgorithm, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

async function importKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(pem),
    signingAlgorithm,
    true,
    ["sign"],
  );
}

function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

export async function createCertificateAuthority(
  commonName: string,
  nowMs: number,
): Promise<CertificateAndKey> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${commonName}`,
    notBefore: new Date(nowMs - backdateMs),
    notAfter: new Date(nowMs + caLifetimeMs),
    keys,
    signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certificatePem: certificate.toString("pem"),
    keyPem: await exportKeyPem(keys.privateKey),
  };
}

/** A serving certificate for `hosts` (IP addresses become IP SANs, the rest DNS SANs). */
export async function issueServingCertificate(
  authority: CertificateAndKey,
  hosts: readonly string[],
  nowMs: number,
  lifetimeMs: number,
): Promise<CertificateAndKey> {
  const caCertificate = new x509.X509Certificate(authority.certificatePem);
  const caKey = await importKeyPem(authority.keyPem);
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${hosts[0] ?? "regmirror"}`,
    issuer: caCertificate.subject,
    notBefore: new Date(nowMs - backdateMs),
    notAfter: new Date(nowMs + lifetimeMs),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((host) =>
          isIP(host) === 0 ? { type: "dns", value: host } : { type: "ip", value: host },
        ),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
    ],
  });
  return {
    certificatePem: certificate.toString("pem"),
    keyPem: await exportKeyPem(keys.privateKey),
  };
}

export interface CertificateFacts {
  notAfterMs: number;
  /** DNS names and IP addresses of the subjectAltName extension. */
  hosts: string[];
  issuer: string;
  subject: string;
}

/** What the operator needs to know about a PEM certificate; undefined when it cannot be read. */
export function readCertificate(pem: string | undefined): CertificateFacts | undefined {
  if (!pem) return undefined;
  try {
    const certificate = new x509.X509Certificate(pem);
    const names = certificate.getExtension(x509.SubjectAlternativeNameExtension);
    return {
      notAfterMs: certificate.notAfter.getTime(),
      hosts: (names?.names.items ?? []).map((name) => name.value),
      issuer: certificate.issuer,
      subject: certificate.subject,
    };
  } catch {
    return undefined;
  }
}
