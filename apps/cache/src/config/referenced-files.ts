import type { EffectiveCacheConfig } from "@regmirror/schemas";

/** Files the daemon will read at start-up, with the key that names each. */
export function referencedFiles(
  config: EffectiveCacheConfig,
): Array<{ key: string; file: string }> {
  const files: Array<{ key: string; file: string }> = [];
  if (config.tls) {
    files.push({ key: "TLS certificate", file: config.tls.certificateFile });
    files.push({ key: "TLS key", file: config.tls.keyFile });
  }
  for (const upstream of config.upstreams) {
    for (const file of upstream.caFiles)
      files.push({ key: `CA file of upstream ${upstream.name}`, file });
    if (upstream.credentials.kind === "docker-config") {
      files.push({
        key: `Docker config of upstream ${upstream.name}`,
        file: upstream.credentials.file,
      });
    }
  }
  if (config.auth.mode === "htpasswd")
    files.push({ key: "htpasswd file", file: config.auth.htpasswdFile });
  const storage = config.storage;
  if (
    storage.kind === "s3" &&
    storage.credentials.mode === "web-identity" &&
    storage.credentials.tokenFile
  ) {
    files.push({ key: "S3 web identity token file", file: storage.credentials.tokenFile });
  }
  return files;
}
