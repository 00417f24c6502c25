// kube-proxy in the node's network namespace: Services' ClusterIPs become iptables rules there,
// so containerd and pods on the node reach a Service as on a real node.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TrackedProcess } from "../processes.js";
import { toolPath } from "../tool-path.js";
import type { NodeNamespaces } from "./node-namespaces.js";

export interface KubeProxyOptions {
  namespaces: NodeNamespaces;
  nodeName: string;
  podSubnet: string;
  kubeconfigPath: string;
}

/** kube-proxy answers `GET /healthz` here (inside the node) once its rules are in place. */
export const kubeProxyHealthPort = 10256;

export function startKubeProxy(options: KubeProxyOptions, directory: string): TrackedProcess {
  const configPath = join(directory, "kube-proxy-config.json");
  const settings = {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig: options.kubeconfigPath },
    hostnameOverride: options.nodeName,
    mode: "iptables",
    clusterCIDR: options.podSubnet,
    // nf_conntrack_max is machine-wide and only writable from the machine's own namespace:
    // leave it as it is rather than fail.
    conntrack: { maxPerCore: 0 },
  };
  writeFileSync(configPath, `${JSON.stringify(settings, null, 2)}\n`);
  return options.namespaces.start({
    name: "kube-proxy",
    command: toolPath("kube-proxy"),
    args: [`--config=${configPath}`, "--v=1"],
  });
}
