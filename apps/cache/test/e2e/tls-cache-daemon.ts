// The in-process cache (startInProcessCache) over TLS with a certificate for 127.0.0.1 from a
// test CA, configured as a user would (a YAML file's text through the same loader `serve` uses).
import { writeFile } from "node:fs/promises";
import { get } from "node:https";
import { join } from "node:path";
import type { CertificateAuthority } from "@regmirror/test-kit";
import { type InProcessCache, startInProcessCache } from "../daemon/in-process-cache.js";

/** `url` is `https://127.0.0.1:PORT`. */
export interface TlsCacheDaemon extends InProcessCache {
  /** Sum of a Prometheus counter's samples whose labels include every `labels` pair. */
  metricTotal(name: string, labels?: Record<string, string>): Promise<number>;
}

export interface TlsCacheDaemonOptions {
  /** Where the config's files and the store go. */
  directory: string;
  authority: CertificateAuthority;
  /** The `regmirror.upstreams` entry: the hosts clients name and where the cache fetches them. */
  upstream: { name: string; hosts: string[]; endpoints: string[] };
}

function httpsText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { ca, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (response.statusCode === 200) resolve(text);
        else reject(new Error(`GET ${url} answered ${response.statusCode}: ${text}`));
      });
    }).on("error", reject);
  });
}

function sampleMatches(line: string, name: string, labels: Record<string, string>): boolean {
  if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) return false;
  return Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
}

export async function startTlsCacheDaemon(options: TlsCacheDaemonOptions): Promise<TlsCacheDaemon> {
  const { directory, authority, upstream } = options;
  const server = await authority.issueServerCertificate(["127.0.0.1"]);
  const certificateFile = join(directory, "cache.cert.pem");
  const keyFile = join(directory, "cache.key.pem");
  await writeFile(certificateFile, server.certificatePem);
  await writeFile(keyFile, server.keyPem, { mode: 0o600 });
  const cache = await startInProcessCache(`
version: 0.1
http:
  addr: 127.0.0.1:0
  draintimeout: 2s
  tls:
    certificate: ${certificateFile}
    key: ${keyFile}
regmirror:
  upstreams:
    - name: ${upstream.name}
      hosts: ${JSON.stringify(upstream.hosts)}
      endpoints: ${JSON.stringify(upstream.endpoints)}
  storage:
    filesystem:
      rootDirectory: ${join(directory, "store")}
`);
  const { url } = cache;
  return {
    ...cache,
    async metricTotal(name, labels = {}) {
      const text = await httpsText(`${url}/metrics`, authority.certificatePem);
      return text
        .split("\n")
        .filter((line) => sampleMatches(line, name, labels))
        .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    },
  };
}
