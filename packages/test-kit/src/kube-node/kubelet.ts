// The node's kubelet: its configuration file holds every setting that differs from the kubelet's
// defaults, each with the reason it is needed on these machines (docs/adr/0023).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TrackedProcess } from "../processes.js";
import { toolPath } from "../tool-path.js";
import type { NodeNamespaces } from "./node-namespaces.js";

export interface KubeletOptions {
  namespaces: NodeNamespaces;
  nodeName: string;
  nodeAddress: string;
  kubeconfigPath: string;
}

/** The non-default kubelet settings; everything else is the kubelet's own default. */
export const kubeletSettings = {
  apiVersion: "kubelet.config.k8s.io/v1beta1",
  kind: "KubeletConfiguration",
  // These machines mount cgroup v1; without this the kubelet stops with "kubelet is configured
  // to not run on a host using cgroup v1".
  failCgroupV1: false,
};

export function startKubelet(options: KubeletOptions, directory: string): TrackedProcess {
  const configPath = join(directory, "kubelet-config.json");
  writeFileSync(configPath, `${JSON.stringify(kubeletSettings, null, 2)}\n`);
  return options.namespaces.start({
    name: "kubelet",
    command: toolPath("kubelet"),
    args: [
      `--config=${configPath}`,
      `--kubeconfig=${options.kubeconfigPath}`,
      // A stable node name, and the node's own address (the namespace has no default route for
      // the kubelet to pick one from).
      `--hostname-override=${options.nodeName}`,
      `--node-ip=${options.nodeAddress}`,
      "--v=1",
    ],
  });
}
