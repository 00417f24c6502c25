import { type CertificateAndKey, makeCertificateAuthority } from "@regmirror/test-kit";

export interface TestCertificates {
  caPem: string;
  otherCaPem: string;
  client: CertificateAndKey;
  otherClient: CertificateAndKey;
}

/** Real certificates for the desired states of the tests (made once per test file). */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const authority = await makeCertificateAuthority({ commonName: "node-trust test mirror CA" });
  const other = await makeCertificateAuthority({ commonName: "node-trust other CA" });
  return {
    caPem: authority.certificatePem,
    otherCaPem: other.certificatePem,
    client: await authority.issueServerCertificate(["node-client.example"]),
    otherClient: await other.issueServerCertificate(["other-client.example"]),
  };
}
