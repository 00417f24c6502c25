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
  volumeClaimRetention: "Retain",
  /** mirror-operator: masqueradeUrl defaults to "mirror-" + upstreamUrl. */
  masqueradePrefix: "mirror-",
} as const;
