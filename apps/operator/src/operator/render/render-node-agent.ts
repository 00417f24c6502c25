// The node agent's desired state, its ConfigMap and its DaemonSet, rendered for one mirror.
import { createHash } from "node:crypto";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import {
  type NodeRuntime,
  type NodeTrustStateInput,
  parseNodeTrustState,
} from "@regmirror/node-trust";
import type { NodeConfigurationMode } from "@regmirror/schemas";
import { containerResources } from "./container-resources.js";
import type { MirrorContext } from "./mirror-context.js";
import { mirrorLabels, nodeAgentPort, selectorLabels } from "./object-names.js";
import { servedHosts } from "./render-cache-config.js";
import { imagePullSecrets } from "./render-cache-workload.js";

// The node agent DaemonSet (the operator's own image, `node-agent` command) and the desired node
// state it applies, in a ConfigMap. Uninstall is the same DaemonSet given an empty state: each
// agent removes the files it wrote, and the DaemonSet's rollout status tells when all have.

export const nodeStateFileName = "node-state.json";
const nodeStateMountPath = "/etc/regmirror/node-state";
const hostRoot = "/host";

const runtimeOfMode: Partial<Record<NodeConfigurationMode, NodeRuntime>> = {
  containerd: "containerd",
  docker: "docker",
  "cri-o": "crio",
  "hosts-file": "hosts-file",
};

export interface NodeAgentInputs {
  /** The client Service's ClusterIP: nodes reach the cache there (kube-proxy). */
  clusterIp: string;
  /** PEM of the CA nodes should trust for the cache's certificate. */
  caPem: string;
  /** Render the state that makes each agent remove its files (the mirror is being deleted). */
  uninstall: boolean;
}

function stripPort(host: string): string {
  return host.replace(/:\d+$/, "");
}

export function nodeRuntimes(context: MirrorContext): NodeRuntime[] {
  return context.spec.nodeConfiguration.modes.flatMap((mode) => runtimeOfMode[mode] ?? []);
}

/** The host name nodes use for the mirror: the masquerade name when /etc/hosts maps it. */
export function nodeFacingHost(context: MirrorContext, clusterIp: string): string {
  return nodeRuntimes(context).includes("hosts-file")
    ? stripPort(context.spec.masqueradeHost)
    : clusterIp;
}

/** The desired node state (JSON), validated with node-trust's own schema before it is written. */
export function renderNodeState(context: MirrorContext, inputs: NodeAgentInputs): string {
  const runtimes = nodeRuntimes(context);
  const upstreamHost = new URL(context.spec.upstreamUrl).host;
  const state: NodeTrustStateInput = {
    runtimes,
    mirrors:
      inputs.uninstall || runtimes.length === 0
        ? []
        : [
            {
              name: context.name,
              endpoint: `https://${nodeFacingHost(context, inputs.clusterIp)}`,
              registries: servedHosts(context.spec).map((host) =>
                host === upstreamHost ? { host, server: context.spec.upstreamUrl } : { host },
              ),
              caPem: inputs.caPem,
              dialTimeout: `${context.spec.nodeConfiguration.containerd.dialTimeoutMs}ms`,
            },
          ],
    hostsFileEntries:
      !inputs.uninstall && runtimes.includes("hosts-file")
        ? [{ host: stripPort(context.spec.masqueradeHost), ip: inputs.clusterIp }]
        : [],
  };
  parseNodeTrustState(state);
  return `${JSON.stringify(state, null, 2)}\n`;
}

export function renderNodeStateConfigMap(context: MirrorContext, nodeState: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: context.names.nodeState,
      namespace: context.namespace,
      labels: mirrorLabels(context.name, "node-agent"),
    },
    data: { [nodeStateFileName]: nodeState },
  };
}

/** Host directories the agent writes, by mode; /var/lib/regmirror keeps its ownership record. */
function hostDirectories(context: MirrorContext): string[] {
  const directories = new Set<string>(["/var/lib/regmirror"]);
  for (const mode of context.spec.nodeConfiguration.modes) {
    if (mode === "containerd") {
      // The agent reads config_path from /etc/containerd/config.toml, then writes certs.d.
      directories.add("/etc/containerd");
      const certs = context.spec.nodeConfiguration.containerd.certsDirectory;
      if (!certs.startsWith("/etc/containerd/")) directories.add(certs);
    }
    if (mode === "docker") directories.add("/etc/docker/certs.d");
    if (mode === "cri-o") directories.add("/etc/containers");
    // /etc/hosts is replaced by a rename, which a bind mount of the file itself would refuse.
    if (mode === "hosts-file") directories.add("/etc");
  }
  return [...directories].sort();
}

export function nodeStateHash(nodeState: string): string {
  return createHash("sha256").update(nodeState).digest("hex").slice(0, 16);
}

export function renderNodeAgentDaemonSet(
  context: MirrorContext,
  nodeState: string,
  uninstall: boolean,
): KubeObject {
  const { nodeConfiguration } = context.spec;
  const directories = hostDirectories(context);
  const volumeName = (index: number) => `host-${index}`;
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: {
      name: context.names.nodeAgent,
      namespace: context.namespace,
      labels: mirrorLabels(context.name, "node-agent"),
      annotations: { "regmirror.dev/node-agent-mode": uninstall ? "uninstall" : "install" },
    },
    spec: {
      selector: { matchLabels: selectorLabels(context.name, "node-agent") },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%" } },
      template: {
        metadata: {
          labels: mirrorLabels(context.name, "node-agent"),
          // A new state rolls the pods; each new pod applies it before it reports ready.
          annotations: {
            "regmirror.dev/node-state-hash": nodeStateHash(nodeState),
            "regmirror.dev/node-agent-mode": uninstall ? "uninstall" : "install",
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...imagePullSecrets(context.images),
          ...(Object.keys(nodeConfiguration.nodeSelector).length > 0
            ? { nodeSelector: { ...nodeConfiguration.nodeSelector } }
            : {}),
          // Default: every taint (registryMirrorDefaults.nodeAgentTolerations), so tainted nodes
          // are configured too; an empty list in the spec means none.
          ...(nodeConfiguration.tolerations.length > 0
            ? {
                tolerations: nodeConfiguration.tolerations.map((toleration) => ({ ...toleration })),
              }
            : {}),
          containers: [
            {
              name: "node-agent",
              image: context.images.operator,
              ...(context.images.pullPolicy ? { imagePullPolicy: context.images.pullPolicy } : {}),
              args: [
                "node-agent",
                "--state-file",
                `${nodeStateMountPath}/${nodeStateFileName}`,
                "--root",
                hostRoot,
                // One agent per mirror on each node: the instance keeps their files apart.
                "--instance",
                context.name,
                "--listen",
                `0.0.0.0:${nodeAgentPort}`,
              ],
              ports: [{ name: "http", containerPort: nodeAgentPort, protocol: "TCP" }],
              // Ready only once this node holds the current state with no conflict (so the
              // rollout, and the mirror's Ready condition, wait for configured nodes); alive
              // while the process answers, so a conflict never restarts the pod.
              readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 5 },
              livenessProbe: {
                httpGet: { path: "/healthz", port: "http" },
                initialDelaySeconds: 10,
                periodSeconds: 20,
                failureThreshold: 3,
              },
              // Root to write root-owned files on the host; no other privilege.
              securityContext: {
                runAsUser: 0,
                runAsNonRoot: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"], add: ["CHOWN", "DAC_OVERRIDE", "FOWNER"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              resources: containerResources(nodeConfiguration.resources),
              volumeMounts: [
                { name: "node-state", mountPath: nodeStateMountPath, readOnly: true },
                ...directories.map((directory, index) => ({
                  name: volumeName(index),
                  mountPath: `${hostRoot}${directory}`,
                })),
              ],
            },
          ],
          volumes: [
            { name: "node-state", configMap: { name: context.names.nodeState } },
            ...directories.map((directory, index) => ({
              name: volumeName(index),
              hostPath: { path: directory, type: "DirectoryOrCreate" },
            })),
          ],
        },
      },
    },
  };
}
