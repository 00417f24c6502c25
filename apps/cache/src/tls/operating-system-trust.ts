/**
 * Upstream TLS trusts what distribution trusts: the operating system's store (/etc/ssl/certs,
 * or SSL_CERT_FILE / SSL_CERT_DIR), on top of Node's default (its bundled roots and
 * NODE_EXTRA_CA_CERTS). Node reads only its bundled roots unless told otherwise, so a private
 * upstream CA installed the usual way would fail every upstream call with a TLS error.
 */
import { getCACertificates, setDefaultCACertificates } from "node:tls";

/** Makes every TLS client of this process trust the system store; returns how many it holds. */
export function trustOperatingSystemStore(): number {
  const system = getCACertificates("system");
  setDefaultCACertificates([...new Set([...getCACertificates("default"), ...system])]);
  return new Set(system).size;
}
