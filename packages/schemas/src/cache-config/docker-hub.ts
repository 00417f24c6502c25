// Docker Hub answers under several names: clients say docker.io (or index.docker.io), the
// registry API lives at registry-1.docker.io. An upstream for any of them stands for all.

export const dockerHubHosts = ["docker.io", "registry-1.docker.io", "index.docker.io"] as const;
export const dockerHubEndpoint = "https://registry-1.docker.io";
/**
 * Names people write for Docker Hub that serve no registry API: hub.docker.io is the upstream of
 * mirror-operator's README example. A RegistryMirror upstream by one of these is Docker Hub.
 */
export const dockerHubAliases = ["hub.docker.io", "hub.docker.com"] as const;

export function isDockerHubHost(host: string): boolean {
  return (dockerHubHosts as readonly string[]).includes(host.toLowerCase());
}
