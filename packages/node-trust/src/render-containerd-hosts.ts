// containerd's hosts.toml for a registry: the mirrors, then the upstream as server.
import { managedFileHeader, tomlString } from "./managed-file-header.js";
import { type Mirror, type RegistryUpstream, upstreamServer } from "./node-state.js";

/** File names of a mirror's TLS material, next to hosts.toml in the registry's directory. */
export function containerdMirrorFileNames(mirror: Mirror): {
  ca: string;
  clientCertificate: string;
  clientKey: string;
} {
  return {
    ca: `regmirror-${mirror.name}-ca.crt`,
    clientCertificate: `regmirror-${mirror.name}-client.cert`,
    clientKey: `regmirror-${mirror.name}-client.key`,
  };
}

/** The `[host."..."]` key: the endpoint, with its path when it has one (the API root). */
export function containerdHostKey(mirror: Mirror): { key: string; overridePath: boolean } {
  const url = new URL(mirror.endpoint);
  const path = url.pathname.replace(/\/+$/, "");
  return { key: `${url.protocol}//${url.host}${path}`, overridePath: path !== "" };
}

/**
 * containerd's `<config_path>/<registry host>/hosts.toml`: the mirrors first, in order, and the
 * upstream as `server`, which containerd tries last. Relative `ca`/`client` paths are resolved
 * by containerd against this file's directory, so the file is right under any mount root.
 */
export function renderContainerdHostsToml(
  registry: RegistryUpstream,
  mirrors: readonly Mirror[],
): string {
  const lines = [managedFileHeader.trimEnd(), `server = ${tomlString(upstreamServer(registry))}`];
  for (const mirror of mirrors) {
    const { key, overridePath } = containerdHostKey(mirror);
    const files = containerdMirrorFileNames(mirror);
    const table = `host.${tomlString(key)}`;
    lines.push("", `[${table}]`, '  capabilities = ["pull", "resolve"]');
    if (mirror.caPem) lines.push(`  ca = ${tomlString(files.ca)}`);
    if (mirror.clientCertificatePem) {
      const pair = `[${tomlString(files.clientCertificate)}, ${tomlString(files.clientKey)}]`;
      lines.push(`  client = [${pair}]`);
    }
    if (mirror.skipVerify) lines.push("  skip_verify = true");
    if (overridePath) lines.push("  override_path = true");
    // Without a short dial timeout containerd waits ~30 s on a mirror that does not answer.
    lines.push(`  dial_timeout = ${tomlString(mirror.dialTimeout)}`);
    const headerNames = Object.keys(mirror.headers).sort();
    if (headerNames.length > 0) {
      lines.push("", `  [${table}.header]`);
      for (const name of headerNames) {
        const value = mirror.headers[name] ?? [];
        const values = (Array.isArray(value) ? value : [value]).map(tomlString).join(", ");
        lines.push(`    ${tomlString(name)} = [${values}]`);
      }
    }
  }
  return `${lines.join("\n")}\n`;
}
