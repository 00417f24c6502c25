import type { EffectiveCacheConfig } from "@regmirror/schemas";

export interface ReferencedFile {
  /** The setting that names the file, for messages. */
  readonly key: string;
  readonly file: string;
  readonly kind:
    | "tls-certificate"
    | "tls-key"
    | "ca-bundle"
    | "docker-config"
    | "htpasswd"
    | "token-file";
}

/** Files the daemon will read at start-up, with the key that names each. */
export function referencedFiles(config: EffectiveCacheConfig): ReferencedFile[] {
  const files: ReferencedFile[] = [];
  if (config.tls) {
    files.push({
      key: "TLS certificate",
      file: config.tls.certificateFile,
      kind: "tls-certificate",
    });
    files.push({ key: "TLS key", file: config.tls.keyFile, kind: "tls-key" });
  }
  for (const upstream of config.upstreams) {
    for (const file of upstream.caFiles)
      files.push({ key: `CA file of upstream ${upstream.name}`, file, kind: "ca-bundle" });
    if (upstream.credentials.kind === "docker-config") {
      files.push({
        key: `Docker config of upstream ${upstream.name}`,
        file: upstream.credentials.file,
        kind: "docker-config",
      });
    }
  }
  if (config.auth.mode === "htpasswd")
    files.push({ key: "htpasswd file", file: config.auth.htpasswdFile, kind: "htpasswd" });
  const storage = config.storage;
  if (
    storage.kind === "s3" &&
    storage.credentials.mode === "web-identity" &&
    storage.credentials.tokenFile
  ) {
    files.push({
      key: "S3 web identity token file",
      file: storage.credentials.tokenFile,
      kind: "token-file",
    });
  }
  return files;
}
