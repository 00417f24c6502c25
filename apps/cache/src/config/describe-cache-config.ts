import { resolve } from "node:path";
import { formatDuration } from "@regmirror/core";
import {
  type CacheAuthConfig,
  type ConfigForm,
  type EffectiveCacheConfig,
  type EffectiveUpstream,
  formatByteSize,
  formatListenAddress,
  type PeersConfig,
  type StorageConfig,
} from "@regmirror/schemas";

// A human summary of the effective configuration, for check-config and the start-up log.
// Secrets are SecretValue objects and print as <redacted>; nothing here calls reveal().

const formNames: Record<ConfigForm, string> = {
  "built-in-default": "built-in default",
  distribution: "distribution keys",
  "msr-downstream": "MSR content cache (downstream middleware)",
  "distribution-proxy": "distribution proxy",
  native: "regmirror keys",
};

export function describeCacheConfig(config: EffectiveCacheConfig): string[] {
  const tls = config.tls
    ? ` with TLS (certificate ${config.tls.certificateFile}, key ${config.tls.keyFile}, minimum ${config.tls.minimumVersion})`
    : " without TLS";
  const lines = [
    `forms:          ${config.forms.map((form) => formNames[form]).join(", ")}`,
    `listen:         ${formatListenAddress(config.listen)}${tls}`,
    ...(config.tls
      ? [`HTTP/2:         ${config.http2 ? "on, next to HTTP/1.1" : "off (http.http2.disabled)"}`]
      : []),
    `public URL:     ${config.publicUrl ?? "(not set)"}`,
    `http.secret:    ${config.httpSecret ?? "(not set)"}`,
    `storage:        ${describeStorage(config.storage)}`,
    ...(config.blobRedirect
      ? [
          `blob redirect:  stored blobs answered 307 to presigned S3 URLs valid ${formatDuration(config.blobRedirect.expiryMs)}`,
        ]
      : []),
    `size cap:       ${
      config.sizeCap
        ? `${formatByteSize(config.sizeCap.maxBytes)}, evicting down to ${formatByteSize(config.sizeCap.lowWaterBytes)}`
        : "none"
    }`,
    `blob TTL:       ${config.blobTtlMs === null ? "none (kept until evicted)" : formatDuration(config.blobTtlMs)}`,
    `tag freshness:  ${
      config.tagFreshnessMs === 0
        ? "0s (every tag is checked with upstream)"
        : `${formatDuration(config.tagFreshnessMs)} (a tag is checked again after this long)`
    }`,
    `client auth:    ${describeAuth(config.auth, config.publicUrl)}`,
    `metrics:        ${
      config.metrics.enabled
        ? `${config.metrics.path} on ${config.metrics.listen ? formatListenAddress(config.metrics.listen) : "the main listener"}`
        : "off"
    }`,
    `status page:    ${describeStatusPage(config)}`,
    `admin API:      ${config.admin === null ? "off (no regmirror.admin credential)" : `/admin/v1, user ${config.admin.username}, password ${config.admin.password}`}`,
    `rate limits:    headroom ${"pulls" in config.rateLimits.headroom ? `${config.rateLimits.headroom.pulls} pulls` : `${config.rateLimits.headroom.percent}% of the upstream's limit`}, back-off ${formatDuration(config.rateLimits.backOffMs)} after a 429 without Retry-After`,
    `log:            level ${config.log.level}, ${config.log.format === "text" ? "text lines" : "JSON lines"}, access log ${config.log.accessLog ? "on" : "off"}`,
    `headers:        ${describeHeaders(config.responseHeaders)}`,
    `shutdown grace: ${formatDuration(config.shutdownGraceMs)}`,
    ...describePeers(config.peers),
    "upstreams:",
    ...config.upstreams.flatMap((upstream) => describeUpstream(upstream, config.defaultUpstream)),
  ];
  if (config.defaultUpstream === null)
    lines.push("  (no default: requests must name their registry)");
  if (config.environmentOverrides.length > 0) {
    lines.push("set by the environment (values above; secrets redacted):");
    for (const override of config.environmentOverrides) {
      lines.push(`  ${override.variable} → ${override.path}`);
    }
  }
  if (config.notices.length > 0) {
    lines.push("accepted but without effect:");
    for (const notice of config.notices) lines.push(`  ${notice.path}: ${notice.message}`);
  }
  return lines;
}

function describePeers(peers: PeersConfig | null): string[] {
  if (peers === null)
    return ["peers:          none (this cache fetches everything it misses itself)"];
  const [summary, members] = describeMembers(peers.members);
  return [
    `peers:          ${summary}, each digest fetched from upstream by its owner only`,
    `  self:         ${peers.self}`,
    `  members:      ${members}`,
    `  secret:       ${peers.secret}`,
    `  timeout:      ${formatDuration(peers.timeoutMs)} (then the next replica, then upstream)`,
    ...(peers.tls === null
      ? []
      : [
          `  tls:          CA ${peers.tls.caFile}, certificates checked for ${peers.tls.serverName ?? "the address dialled"}`,
        ]),
  ];
}

/** What the members are, and where they are read from. */
function describeMembers(members: PeersConfig["members"]): [string, string] {
  switch (members.kind) {
    case "static":
      return [`${members.urls.length} replicas (static list)`, members.urls.join(", ")];
    case "kubernetes":
      return [
        "the ready endpoints of a Service",
        `EndpointSlices of service ${members.namespace}/${members.service}, port ${members.portName ?? "(the first)"}, ${members.scheme}, read every ${formatDuration(members.intervalMs)} from ${members.apiServer}`,
      ];
    case "dns":
      return [
        "the addresses of a DNS name",
        `A and AAAA records of ${members.name}, port ${members.port}, ${members.scheme}, resolved every ${formatDuration(members.intervalMs)} by ${members.server ?? "the system's DNS servers"} (no answer keeps the last list)`,
      ];
  }
}

function describeHeaders(headers: EffectiveCacheConfig["responseHeaders"]): string {
  const entries = Object.entries(headers);
  if (entries.length === 0) return "(none added)";
  return entries.map(([name, values]) => `${name}: ${values.join(", ")}`).join("; ");
}

function describeStorage(storage: StorageConfig): string {
  if (storage.kind === "filesystem") {
    const absolute = resolve(storage.rootDirectory);
    return `filesystem at ${storage.rootDirectory}${absolute === storage.rootDirectory ? "" : ` (${absolute})`}`;
  }
  const where = `s3://${storage.bucket}/${storage.prefix}`;
  const endpoint = storage.endpoint ? ` via ${storage.endpoint}` : "";
  const style = storage.forcePathStyle ? ", path-style" : "";
  const credentials = storage.credentials;
  let credentialText = "credentials from the environment";
  if (credentials.mode === "static") {
    credentialText = `static credentials (access key ${credentials.accessKeyId}, secret ${credentials.secretAccessKey})`;
  } else if (credentials.mode === "web-identity") {
    credentialText = `web identity (role ${credentials.roleArn ?? "from AWS_ROLE_ARN"}, token ${credentials.tokenFile ?? "from AWS_WEB_IDENTITY_TOKEN_FILE"})`;
  }
  return `${where} in ${storage.region}${endpoint}${style}, ${credentialText}`;
}

function describeAuth(auth: CacheAuthConfig, publicUrl: string | null): string {
  switch (auth.mode) {
    case "none":
      return "none (anyone who reaches the cache can pull)";
    case "htpasswd": {
      const challenge =
        publicUrl === null
          ? `Basic challenge with realm "${auth.realm}" (set http.host to send clients to its /auth/token for bearer tokens)`
          : `bearer tokens from ${publicUrl}/auth/token valid ${formatDuration(auth.tokenTtlMs)}`;
      return `htpasswd users from ${auth.htpasswdFile}, ${challenge}`;
    }
    case "pass-through":
      return `pass-through (clients' own credentials checked upstream, decisions kept ${formatDuration(auth.decisionTtlMs)})`;
  }
}

function describeUpstream(upstream: EffectiveUpstream, defaultUpstream: string | null): string[] {
  const credentials = upstream.credentials;
  let credentialText = "none";
  if (credentials.kind === "basic") {
    credentialText = `username ${credentials.username}, password ${credentials.password}`;
  } else if (credentials.kind === "docker-config") {
    credentialText = `from Docker config ${credentials.file}`;
  }
  return [
    `  ${upstream.name}${upstream.name === defaultUpstream ? " (default)" : ""}`,
    `    hosts:       ${upstream.hosts.join(", ")}`,
    `    endpoints:   ${upstream.endpoints.join(", then ")}`,
    `    credentials: ${credentialText}`,
    `    CA files:    ${upstream.caFiles.length > 0 ? `${upstream.caFiles.join(", ")}, ` : ""}the system's store and Node's roots`,
  ];
}

/** Where the status page is and who may see it (docs/adr/0029-admin-api-inspection-and-eviction.md). */
function describeStatusPage(config: EffectiveCacheConfig): string {
  const { statusPage, auth, admin } = config;
  if (!statusPage.enabled) return "off";
  if (auth.mode === "none") return `${statusPage.path} (open to all: client auth is off)`;
  return admin === null
    ? `${statusPage.path} (refused: client auth is on and no regmirror.admin credential is set)`
    : `${statusPage.path} (the admin credential is required)`;
}
