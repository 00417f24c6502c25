// The RegistryMirror's API group and kind, and what a field left out means.
import type { nodeConfigurationModes } from "./registry-mirror-spec-schema.js";

export type NodeConfigurationMode = (typeof nodeConfigurationModes)[number];

export const registryMirrorApi = {
  group: "regmirror.dev",
  version: "v1alpha1",
  apiVersion: "regmirror.dev/v1alpha1",
  kind: "RegistryMirror",
  plural: "registrymirrors",
  singular: "registrymirror",
  shortNames: ["rm"],
  scope: "Cluster",
} as const;

/** What a RegistryMirror field left out means. */
export const registryMirrorDefaults = {
  replicas: 1,
  /** mirror-operator's default volume: 20Gi, ReadWriteOnce. */
  volumeStorage: "20Gi",
  volumeAccessModes: ["ReadWriteOnce"],
  upstreamCaKey: "ca.crt",
  certificateDurationMs: 90 * 86_400_000,
  renewBeforeMs: 30 * 86_400_000,
  nodeConfigurationModes: ["containerd"] as readonly NodeConfigurationMode[],
  /** With masqueradeUrl set: nodes also map that name to the mirror (mirror-operator's "hostess"). */
  nodeConfigurationModesWithMasquerade: [
    "containerd",
    "hosts-file",
  ] as readonly NodeConfigurationMode[],
  containerdCertsDirectory: "/etc/containerd/certs.d",
  /** Short, so containerd falls back to upstream quickly when the mirror hangs. */
  containerdDialTimeoutMs: 2000,
  /** The operator's default for nodeConfiguration.imageswap.configMapName (--imageswap-configmap). */
  imageswapConfigMapName: "imageswap-maps",
  /** Short: the API server waits this long for the webhook before it admits a pod unchanged. */
  webhookTimeoutSeconds: 3,
  /** Images the cache warms at once for one mirror. */
  warmAheadConcurrency: 2,
  volumeClaimRetention: "Retain",
  /** mirror-operator: masqueradeUrl defaults to "mirror-" + upstreamUrl. */
  masqueradePrefix: "mirror-",
  /** Every node, tainted or not (as kube-proxy and CNI agents run): none is left unconfigured. */
  nodeAgentTolerations: [{ operator: "Exists" }],
  /**
   * The cache: 82 MiB resident idle and 129 MiB at its peak in docs/benchmarks.md; the limit
   * leaves room for many fills at once and the S3 client.
   */
  cacheResources: { requests: { cpu: "100m", memory: "192Mi" }, limits: { memory: "512Mi" } },
  /**
   * The node agent: about 100 MiB resident (apps/operator/bench/operator-memory.bench.ts), 70 of
   * them Node itself.
   */
  nodeAgentResources: { requests: { cpu: "10m", memory: "128Mi" }, limits: { memory: "256Mi" } },
} as const;
