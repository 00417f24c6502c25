// Docker's and CRI-O's certs.d files for a mirror: its CA and client certificate.
import { managedFileHeader } from "./managed-file-header.js";
import type { Mirror } from "./node-state.js";
import type { RenderedFile } from "./rendered-file.js";
import { parseCertificatePem, parsePrivateKeyPem } from "./validation.js";

/** PEM text as written: the managed header, then only the certificate or key blocks. */
export function renderCertificateFile(pem: string): string {
  return managedFileHeader + parseCertificatePem(pem).normalizedPem;
}

export function renderPrivateKeyFile(pem: string): string {
  return managedFileHeader + parsePrivateKeyPem(pem).normalizedPem;
}

/** The directory name Docker and containers/image look up: the endpoint's host[:port]. */
export function certsDirectoryHost(mirror: Mirror): string {
  return new URL(mirror.endpoint).host;
}

/**
 * Docker's (`/etc/docker/certs.d`) and CRI-O's (`/etc/containers/certs.d`) layout:
 * `<host:port>/ca.crt` and the `client.cert` / `client.key` pair, for the host the runtime
 * connects to, which is the mirror.
 */
export function renderCertsDirectory(certsDirectory: string, mirror: Mirror): RenderedFile[] {
  if (!mirror.endpoint.startsWith("https:")) return [];
  const directory = `${certsDirectory}/${certsDirectoryHost(mirror)}`;
  const files: RenderedFile[] = [];
  if (mirror.caPem) {
    files.push({
      path: `${directory}/ca.crt`,
      content: renderCertificateFile(mirror.caPem),
      mode: 0o644,
    });
  }
  if (mirror.clientCertificatePem && mirror.clientKeyPem) {
    files.push(
      {
        path: `${directory}/client.cert`,
        content: renderCertificateFile(mirror.clientCertificatePem),
        mode: 0o644,
      },
      {
        path: `${directory}/client.key`,
        content: renderPrivateKeyFile(mirror.clientKeyPem),
        mode: 0o600,
      },
    );
  }
  return files;
}
