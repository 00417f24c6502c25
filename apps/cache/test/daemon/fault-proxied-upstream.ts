// A real docker-registry behind the test kit's fault proxy (its fake, for faults on demand) and a
// temporary directory, with the configuration of a cache in front of them: the set-up of the
// tests that watch the cache while its upstream misbehaves (status page, inspection, rate limits).
import { join } from "node:path";
import {
  type FaultProxy,
  makeTempDirectory,
  removeTempDirectory,
  startFaultProxy,
  startUpstreamRegistry,
  type UpstreamRegistry,
} from "@regmirror/test-kit";

export interface ProxiedCacheConfig {
  /** The upstream's name in the cache and the registry hosts clients name it by. */
  upstream: { name: string; hosts: readonly string[] };
  /** The filesystem store's directory, inside the temporary one. Default `store`. */
  store?: string;
  /** More settings under `regmirror:`, as YAML indented by two spaces. */
  more?: string;
}

export interface FaultProxiedUpstream {
  directory: string;
  upstream: UpstreamRegistry;
  proxy: FaultProxy;
  /** A cache with this one upstream, reached through the proxy, and a store capped at 1 GiB. */
  cacheConfig(options: ProxiedCacheConfig): string;
  stop(): Promise<void>;
}

export async function startFaultProxiedUpstream(
  directoryPrefix: string,
): Promise<FaultProxiedUpstream> {
  const directory = makeTempDirectory(directoryPrefix);
  const upstream = await startUpstreamRegistry();
  const proxy = await startFaultProxy({ target: upstream.url });
  return {
    directory,
    upstream,
    proxy,
    cacheConfig: ({ upstream: { name, hosts }, store = "store", more = "" }) => `
http:
  addr: 127.0.0.1:0
regmirror:
  upstreams:
    - name: ${name}
      hosts: [${hosts.join(", ")}]
      endpoints: [${proxy.url}]
  storage:
    filesystem:
      rootDirectory: ${join(directory, store)}
    maxSize: 1GiB
${more}`,
    async stop() {
      await proxy.stop();
      await upstream.stop();
      await removeTempDirectory(directory);
    },
  };
}
