// The node's containerd 2 with its CRI, as a kubelet needs it: config at the node's
// /etc/containerd/config.toml (where the regmirror node agent looks for `config_path`), a bridge
// pod network inside the node's network namespace, and this release's own runc shim.
import { mkdirSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { machineWidePlugins } from "../containerd.js";
import type { TrackedProcess } from "../processes.js";
import { waitUntilReady } from "../processes.js";
import { toolPath } from "../tool-path.js";
import type { NodeNamespaces } from "./node-namespaces.js";

/** containerd's default socket; the kubelet's default `containerRuntimeEndpoint` points here. */
export const containerdSocket = "/run/containerd/containerd.sock";
/** Where the node's hosts.toml files go (the CRI's `config_path`), as on most real nodes. */
export const nodeCertsDirectory = "/etc/containerd/certs.d";

export interface NodeContainerdOptions {
  namespaces: NodeNamespaces;
  /** The pause image every pod's sandbox runs (containerd pulls it from a loopback registry). */
  sandboxImage: string;
  /** Pod addresses, e.g. 10.244.0.0/24 (the bridge's subnet). */
  podSubnet: string;
  /** PEM bundle containerd trusts for registries besides the system's (test CAs). */
  extraCaFile?: string;
}

/** The pod network's bridge device in the node. */
export const podBridgeName = "cni0";

/** The node runs CRI (the kubelet needs it); /opt is not private to the node either. */
const disabledPlugins = machineWidePlugins;

function containerdConfig(options: NodeContainerdOptions, cniDirectory: string): string {
  const quote = (value: string) => JSON.stringify(value);
  return [
    "version = 3",
    `disabled_plugins = ${JSON.stringify(disabledPlugins)}`,
    "",
    '[plugins."io.containerd.cri.v1.images".pinned_images]',
    `  sandbox = ${quote(options.sandboxImage)}`,
    "",
    '[plugins."io.containerd.cri.v1.images".registry]',
    `  config_path = ${quote(nodeCertsDirectory)}`,
    "",
    '[plugins."io.containerd.cri.v1.runtime"]',
    // Root here lacks CAP_SYS_RESOURCE: runc cannot lower a container's oom_score_adj below ours.
    "  restrict_oom_score_adj = true",
    "",
    '[plugins."io.containerd.cri.v1.runtime".cni]',
    // The machine has no /etc/cni or /opt/cni: the node keeps its network config in its own dir.
    `  bin_dirs = [${quote(dirname(toolPath("bridge")))}]`,
    `  conf_dir = ${quote(join(cniDirectory, "net.d"))}`,
    "",
  ].join("\n");
}

/** A bridge in the node's namespace; pods get addresses of `podSubnet` and route via the node. */
function podNetworkConfig(podSubnet: string): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "regmirror-node",
      plugins: [
        {
          type: "bridge",
          bridge: podBridgeName,
          isGateway: true,
          // A pod reaching its own Service comes back through the bridge.
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: podSubnet }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

export async function startNodeContainerd(
  options: NodeContainerdOptions,
  directory: string,
): Promise<TrackedProcess> {
  const { namespaces } = options;
  const cniDirectory = join(directory, "cni");
  mkdirSync(join(cniDirectory, "net.d"), { recursive: true });
  // Written in place before containerd starts: a file moved into the directory is not seen.
  writeFileSync(
    join(cniDirectory, "net.d", "10-regmirror-node.conflist"),
    podNetworkConfig(options.podSubnet),
  );
  const configPath = namespaces.machinePath("/etc/containerd/config.toml");
  mkdirSync(dirname(configPath), { recursive: true });
  mkdirSync(namespaces.machinePath(nodeCertsDirectory), { recursive: true });
  writeFileSync(configPath, containerdConfig(options, cniDirectory));

  const containerdBinary = toolPath("containerd");
  const daemon = namespaces.start({
    name: "containerd",
    command: containerdBinary,
    args: ["--log-level", "warn"],
    env: {
      ...process.env,
      // containerd looks for `containerd-shim-runc-v2` on PATH first: this release's shim must
      // come before Debian's 1.6 one in /usr/bin ("type with url ...: not found").
      PATH: [dirname(containerdBinary), process.env.PATH ?? ""].join(delimiter),
      ...(options.extraCaFile ? { SSL_CERT_FILE: options.extraCaFile } : {}),
    },
  });
  await waitUntilReady(
    "the node's containerd",
    async () => {
      const { stdout } = await namespaces.run(
        toolPath("ctr"),
        ["--address", containerdSocket, "version"],
        { timeoutMs: 5_000 },
      );
      return stdout.includes("Server:");
    },
    { process: daemon, timeoutMs: 60_000 },
  );
  return daemon;
}
