// The cache's config.yml rendered from a mirror's spec.
import { formatDuration } from "@regmirror/core";
import type { RegistryMirrorSpec } from "@regmirror/schemas";
import { stringify } from "yaml";
import { htpasswdKey } from "./client-auth.js";
import { cachePort } from "./object-names.js";
import { quantityToBytes } from "./quantity.js";

// The cache's configuration file (docs/adr/0006-cache-config-format.md): distribution's `http`
// keys for the listener and TLS, everything else in the `regmirror:` section. It holds no
// secret: upstream credentials are a mounted Docker config file, S3 keys come from env, the
// htpasswd file of client auth is the user's Secret, mounted.

export const cacheMountPaths = {
  config: "/etc/regmirror/cache",
  configFile: "/etc/regmirror/cache/config.yml",
  tls: "/etc/regmirror/tls",
  upstreamAuth: "/etc/regmirror/upstream-auth",
  upstreamCa: "/etc/regmirror/upstream-ca",
  clientAuth: "/etc/regmirror/client-auth",
  data: "/var/lib/regmirror",
} as const;

/**
 * How long a stopping cache lets downloads under way finish (`http.draintimeout`); the pod's
 * terminationGracePeriodSeconds is longer, so the kubelet does not kill it while it drains.
 */
export const cacheDrainTimeoutSeconds = 30;

/** Of a volume, the cache fills at most this share (room for metadata and partial downloads). */
const volumeFillRatio = 0.9;

/** Hosts the cache routes to the upstream: mirrorOf, and the masquerade host nodes resolve. */
export function servedHosts(spec: RegistryMirrorSpec): string[] {
  const hosts = new Set(spec.mirrorOf);
  // mirror-operator's clients pull <masqueradeUrl>/repo: the name is the mirror's.
  if (spec.nodeConfiguration.modes.includes("hosts-file")) hosts.add(spec.masqueradeHost);
  return [...hosts];
}

/**
 * The config file; `peers` is the rendered `regmirror.peers` (cache-peers.ts) when the mirror
 * has more than one replica.
 */
export function renderCacheConfig(
  spec: RegistryMirrorSpec,
  peers?: Record<string, unknown>,
): string {
  const upstream: Record<string, unknown> = {
    name: "upstream",
    hosts: servedHosts(spec),
    endpoints: [spec.upstreamUrl],
  };
  if (spec.credentialsSecret !== null) {
    upstream.credentials = { dockerConfig: `${cacheMountPaths.upstreamAuth}/config.json` };
  }
  if (spec.upstreamCaBundle !== null) {
    upstream.caBundle = `${cacheMountPaths.upstreamCa}/${spec.upstreamCaBundle.key}`;
  }
  const storage: Record<string, unknown> = {};
  if (spec.storage.kind === "pvc") {
    storage.filesystem = { rootDirectory: cacheMountPaths.data };
    const volumeBytes = quantityToBytes(
      spec.storage.volumeClaimTemplate.spec.resources.requests.storage,
    );
    const maxSize =
      spec.maxSizeBytes ??
      (volumeBytes === undefined ? undefined : Math.floor(volumeBytes * volumeFillRatio));
    if (maxSize !== undefined) storage.maxSize = maxSize;
  } else {
    const s3 = spec.storage;
    storage.s3 = {
      bucket: s3.bucket,
      ...(s3.region !== null ? { region: s3.region } : {}),
      ...(s3.endpoint !== null ? { endpoint: s3.endpoint } : {}),
      forcePathStyle: s3.forcePathStyle,
      ...(s3.prefix !== "" ? { prefix: s3.prefix } : {}),
      // static keys reach the pod as AWS_* variables from the user's Secret.
      credentials:
        s3.credentials.mode === "web-identity"
          ? {
              mode: "web-identity",
              ...(s3.credentials.roleArn !== null ? { roleArn: s3.credentials.roleArn } : {}),
            }
          : { mode: "env" },
    };
    if (spec.maxSizeBytes !== null) storage.maxSize = spec.maxSizeBytes;
  }
  const document = {
    version: 0.1,
    log: { level: "info" },
    http: {
      addr: `:${cachePort}`,
      draintimeout: `${cacheDrainTimeoutSeconds}s`,
      tls: {
        certificate: `${cacheMountPaths.tls}/tls.crt`,
        key: `${cacheMountPaths.tls}/tls.key`,
      },
    },
    regmirror: {
      upstreams: [upstream],
      storage,
      ...(spec.blobTtlMs !== null ? { blobTtl: formatDuration(spec.blobTtlMs) } : {}),
      auth: clientAuthOf(spec),
      ...(peers !== undefined ? { peers } : {}),
    },
  };
  return `# Written by regmirror-operator; edits are overwritten. Change the RegistryMirror instead.\n${stringify(document)}`;
}

/** regmirror.auth. htpasswd without http.host: clients get a Basic challenge (any address works). */
function clientAuthOf(spec: RegistryMirrorSpec): Record<string, unknown> {
  const { clientAuth } = spec;
  if (clientAuth.mode !== "htpasswd") return { mode: clientAuth.mode };
  return { mode: "htpasswd", htpasswdFile: `${cacheMountPaths.clientAuth}/${htpasswdKey}` };
}
