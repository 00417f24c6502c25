// A self-signed certificate for 127.0.0.1, made with openssl, for the cache's TLS listener in
// the HTTP/2 workload (the clients trust it explicitly).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./processes.mjs";

export async function makeLoopbackCertificate(directory) {
  const certificate = join(directory, "cache.cert.pem");
  const key = join(directory, "cache.key.pem");
  await runCommand("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    key,
    "-out",
    certificate,
  ]);
  return { certificate, key, certificatePem: await readFile(certificate, "utf8") };
}
