// Checks of host names, addresses, URLs, PEM material and node paths.
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { isIP, isIPv6 } from "node:net";

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const hostnameLabel = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const decimalPort = /^[0-9]{1,5}$/;
const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// RFC 9110 token characters, the only ones allowed in a header name.
const headerNameToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const privateKeyBlock =
  /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;

export function isValidHostname(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value.split(".").every((label) => hostnameLabel.test(label));
}

export function isValidDnsLabel(value: string): boolean {
  return dnsLabel.test(value);
}

export function isValidIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

/** Checks "host", "host:port" or "[v6]:port"; returns what is wrong, or undefined. */
export function hostPortProblem(value: string): string | undefined {
  let hostname = value;
  let port: string | undefined;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0) return `"${value}" has an unclosed "["`;
    hostname = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return `"${value}" has text after "]" that is not a port`;
      port = rest.slice(1);
    }
    if (!isIPv6(hostname)) return `"${hostname}" is not an IPv6 address`;
  } else {
    const colon = value.lastIndexOf(":");
    if (colon >= 0) {
      hostname = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (!isValidHostname(hostname)) return `"${hostname}" is not a valid host name`;
  }
  if (port !== undefined) {
    const number = Number(port);
    if (!decimalPort.test(port) || number < 1 || number > 65535) {
      return `"${port}" is not a valid port (1-65535)`;
    }
  }
  return undefined;
}

/**
 * A URL as an error message may show it: userinfo, query and fragment can hold credentials or
 * signatures, so they are replaced by `<redacted>`.
 */
export function urlForMessage(value: string): string {
  return value
    .replace(/^([^:/?#]*:\/\/)[^/?#]*@/, "$1<redacted>@")
    .replace(/([?#]).*$/s, "$1<redacted>");
}

/** True when a URL path (as typed, before any normalisation) has a "." or ".." segment. */
export function hasDotSegment(path: string): boolean {
  return path
    .split("/")
    .some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment) || segment.includes("\\"));
}

export function headerNameProblem(name: string): string | undefined {
  return headerNameToken.test(name) ? undefined : `"${name}" is not a valid header name`;
}

export function headerValueProblem(value: string): string | undefined {
  // A line break would let a value inject further headers or TOML keys.
  return /[\r\n\0]/.test(value) ? "header values must not contain line breaks or NUL" : undefined;
}

/**
 * The X.509 certificates of a PEM bundle, checked with node:crypto. Text around the blocks is
 * dropped, so what gets written to disk is only the certificates.
 */
export function parseCertificatePem(pem: string): {
  certificates: X509Certificate[];
  normalizedPem: string;
} {
  const blocks = pem.match(certificateBlock) ?? [];
  if (blocks.length === 0) throw new Error("is not PEM: no CERTIFICATE block found");
  const certificates = blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new Error(`PEM block ${index + 1} is not a valid X.509 certificate`);
    }
  });
  return { certificates, normalizedPem: `${blocks.join("\n")}\n` };
}

/** The private key of a PEM file; the error never repeats the key material. */
export function parsePrivateKeyPem(pem: string): { key: KeyObject; normalizedPem: string } {
  const match = privateKeyBlock.exec(pem);
  if (!match) throw new Error("is not PEM: no PRIVATE KEY block found");
  if (match[1] === "ENCRYPTED PRIVATE KEY") {
    throw new Error("is an encrypted private key; runtimes need an unencrypted key");
  }
  try {
    return { key: createPrivateKey(match[0]), normalizedPem: `${match[0]}\n` };
  } catch {
    throw new Error("is not a valid private key");
  }
}

/** Node-absolute paths the applier accepts: absolute, no "." or ".." segments, no NUL. */
export function nodePathProblem(path: string): string | undefined {
  if (typeof path !== "string") return `a path is a string, got ${typeof path}`;
  if (!path.startsWith("/")) return `"${path}" is not an absolute path`;
  if (path.includes("\0")) return "path contains a NUL byte";
  if (path.split("/").some((segment) => segment === ".." || segment === ".")) {
    return `"${path}" contains a "." or ".." segment`;
  }
  return undefined;
}
