// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";
import { TestKitError } from "./errors.js";

export interface CertificateAndKey {
  certificatePem: string;
  keyPem: string;
}

export interface CertificateAuthority extends CertificateAndKey {
  /** A server certificate for these hosts: IP addresses become IP SANs, names DNS SANs. */
  issueServerCertificate(hosts: string[]): Promise<CertificateAndKey>;
  /** A certificate for signing (e.g. registry tokens); the chain is [leaf, CA]. */
  issueSigningCertificate(
    commonName: string,
  ): Promise<CertificateAndKey & { certificateDer: Buffer }>;
}

const signingAlgorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const oneDayMs = 24 * 60 * 60 * 1000;

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(signingAlgorithm, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

function randomSerialNumber(): string {
  // Positive (high bit clear), 16 bytes, as RFC 5280 asks.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

function validity(): { notBefore: Date; notAfter: Date } {
  // A little in the past so a clock that is slightly behind still accepts it.
  return {
    notBefore: new Date(Date.now() - oneDayMs),
    notAfter: new Date(Date.now() + 30 * oneDayMs),
  };
}

function subjectAlternativeNames(hosts: string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(
    hosts.map((host) =>
      isIP(host) === 0 ? { type: "dns", value: host } : { type: "ip", value: host },
    ),
  );
}

/** A fresh self-signed CA (ECDSA P-256, 30 days) that issues server and signing certificates. */
export async function makeCertificateAuthority(
  options: { commonName?: string } = {},
): Promise<CertificateAuthority> {
  const caKeys = await generateKeys();
  const caName = `CN=${options.commonName ?? "regmirror test CA"}`;
  const caCertificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      name: caName,
      ...validity(),
      keys: caKeys,
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    },
    webcrypto,
  );

  async function issue(
    subject: string,
    extensions: x509.Extension[],
  ): Promise<CertificateAndKey & { certificateDer: Buffer }> {
    const keys = await generateKeys();
    const certificate = await x509.X509CertificateGenerator.create(
      {
        serialNumber: randomSerialNumber(),
        subject,
        issuer: caCertificate.subject,
        ...validity(),
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          await x509.AuthorityKeyIdentifierExtension.create(caCertificate, false),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
          ...extensions,
        ],
      },
      webcrypto,
    );
    return {
      certificatePem: certificate.toString("pem"),
      certificateDer: Buffer.from(certificate.rawData),
      keyPem: await privateKeyPem(keys.privateKey),
    };
  }

  return {
    certificatePem: caCertificate.toString("pem"),
    keyPem: await privateKeyPem(caKeys.privateKey),
    async issueServerCertificate(hosts) {
      if (hosts.length === 0) {
        throw new TestKitError(
          "BAD_INPUT",
          "issueServerCertificate needs at least one host name or IP address",
        );
      }
      const { certificatePem, keyPem } = await issue(`CN=${hosts[0]}`, [
        subjectAlternativeNames(hosts),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ]);
      return { certificatePem, keyPem };
    },
    async issueSigningCertificate(commonName) {
      return await issue(`CN=${commonName}`, [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ]);
    },
  };
}
