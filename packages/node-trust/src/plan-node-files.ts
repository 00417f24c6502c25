// Every file and hosts block the desired state asks for, at its node path.
import type { Mirror, NodeTrustState, RegistryUpstream } from "./node-state.js";
import {
  certsDirectoryHost,
  renderCertificateFile,
  renderCertsDirectory,
  renderPrivateKeyFile,
} from "./render-certs-directory.js";
import { containerdMirrorFileNames, renderContainerdHostsToml } from "./render-containerd-hosts.js";
import { renderCrioRegistriesConf } from "./render-crio.js";
import { renderHostsBlock } from "./render-hosts-block.js";
import type { RenderedFile } from "./rendered-file.js";

/** Node-absolute directories the files go to. */
export interface NodeFileLayout {
  containerdCertsDirectory: string;
  dockerCertsDirectory: string;
  containersCertsDirectory: string;
  crioRegistriesDirectory: string;
  hostsFile: string;
  /** Names the hosts block and the CRI-O drop-in, so several appliers can share one node. */
  instance?: string;
}

export const crioDropInName = "50-regmirror.conf";

/** The CRI-O drop-in's file name: crioDropInName without an instance. */
export function crioDropInFileName(instance?: string): string {
  return instance === undefined ? crioDropInName : `50-regmirror-${instance}.conf`;
}

export interface NodeFilePlan {
  files: RenderedFile[];
  /** The marked block for the hosts file; undefined when the hosts file is not managed. */
  hostsBlock?: { path: string; block: string };
}

/** Registries in first-seen order, each with the mirrors that serve it, in mirror order. */
function mirrorsByRegistry(
  mirrors: readonly Mirror[],
): { registry: RegistryUpstream; mirrors: Mirror[] }[] {
  const byHost = new Map<string, { registry: RegistryUpstream; mirrors: Mirror[] }>();
  for (const mirror of mirrors) {
    for (const registry of mirror.registries) {
      const entry = byHost.get(registry.host) ?? { registry, mirrors: [] };
      entry.mirrors.push(mirror);
      byHost.set(registry.host, entry);
    }
  }
  return [...byHost.values()];
}

/** Every file (and the hosts block) the desired state asks for. Pure: nothing is read. */
export function planNodeFiles(state: NodeTrustState, layout: NodeFileLayout): NodeFilePlan {
  const files: RenderedFile[] = [];
  const runtimes = new Set(state.runtimes);
  const registries = mirrorsByRegistry(state.mirrors);

  if (runtimes.has("containerd")) {
    for (const { registry, mirrors } of registries) {
      const directory = `${layout.containerdCertsDirectory}/${registry.host}`;
      files.push({
        path: `${directory}/hosts.toml`,
        content: renderContainerdHostsToml(registry, mirrors),
        mode: 0o644,
      });
      for (const mirror of mirrors) {
        const names = containerdMirrorFileNames(mirror);
        if (mirror.caPem) {
          files.push({
            path: `${directory}/${names.ca}`,
            content: renderCertificateFile(mirror.caPem),
            mode: 0o644,
          });
        }
        if (mirror.clientCertificatePem && mirror.clientKeyPem) {
          files.push(
            {
              path: `${directory}/${names.clientCertificate}`,
              content: renderCertificateFile(mirror.clientCertificatePem),
              mode: 0o644,
            },
            {
              path: `${directory}/${names.clientKey}`,
              content: renderPrivateKeyFile(mirror.clientKeyPem),
              mode: 0o600,
            },
          );
        }
      }
    }
  }

  // Mirrors on one host:port share a certs.d directory (the state schema makes them agree).
  const certsHosts = new Set<string>();
  const uniqueByCertsHost = state.mirrors.filter((mirror) => {
    const host = certsDirectoryHost(mirror);
    if (certsHosts.has(host)) return false;
    certsHosts.add(host);
    return true;
  });
  if (runtimes.has("docker")) {
    for (const mirror of uniqueByCertsHost) {
      files.push(...renderCertsDirectory(layout.dockerCertsDirectory, mirror));
    }
  }
  if (runtimes.has("crio")) {
    if (registries.length > 0) {
      files.push({
        path: `${layout.crioRegistriesDirectory}/${crioDropInFileName(layout.instance)}`,
        content: renderCrioRegistriesConf(registries),
        mode: 0o644,
      });
    }
    for (const mirror of uniqueByCertsHost) {
      files.push(...renderCertsDirectory(layout.containersCertsDirectory, mirror));
    }
  }

  const plan: NodeFilePlan = { files };
  if (runtimes.has("hosts-file") && state.hostsFileEntries.length > 0) {
    plan.hostsBlock = {
      path: layout.hostsFile,
      block: renderHostsBlock(state.hostsFileEntries, layout.instance),
    };
  }
  return plan;
}
