// CRI-O's registries.conf.d drop-in for the mirrors.
import { managedFileHeader, tomlString } from "./managed-file-header.js";
import type { Mirror, RegistryUpstream } from "./node-state.js";

/**
 * The mirror's location as containers/image wants it: host[:port][/namespace], where the
 * namespace is the endpoint path below /v2 (containers/image puts /v2 in front itself).
 */
export function crioMirrorLocation(mirror: Mirror): string {
  const url = new URL(mirror.endpoint);
  const namespace = url.pathname.replace(/\/+$/, "").replace(/^\/v2/, "");
  return `${url.host}${namespace}`;
}

function upstreamLocation(registry: RegistryUpstream): string {
  if (!registry.server) return registry.host;
  const url = new URL(registry.server);
  if (registry.host === "docker.io" && url.host === "registry-1.docker.io") return "docker.io";
  return `${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

export interface CrioRegistryMirrors {
  registry: RegistryUpstream;
  mirrors: readonly Mirror[];
}

/**
 * A `registries.conf.d` drop-in: one `[[registry]]` per registry host (a prefix may appear only
 * once), its mirrors in order, each used for every pull (`pull-from-mirror = "all"`).
 */
export function renderCrioRegistriesConf(entries: readonly CrioRegistryMirrors[]): string {
  const lines = [managedFileHeader.trimEnd()];
  for (const { registry, mirrors } of entries) {
    lines.push(
      "",
      "[[registry]]",
      `prefix = ${tomlString(registry.host)}`,
      `location = ${tomlString(upstreamLocation(registry))}`,
    );
    const server = registry.server ? new URL(registry.server) : undefined;
    if (server?.protocol === "http:") lines.push("insecure = true");
    for (const mirror of mirrors) {
      lines.push(
        "",
        "[[registry.mirror]]",
        `location = ${tomlString(crioMirrorLocation(mirror))}`,
        'pull-from-mirror = "all"',
      );
      // containers/image has no "trust any certificate" switch apart from insecure.
      if (mirror.skipVerify || mirror.endpoint.startsWith("http:")) lines.push("insecure = true");
    }
  }
  return `${lines.join("\n")}\n`;
}
