// replicas > 1: the cache replicas share one upstream download per digest (docs/adr/0034-operator-cache-peers.md).
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { renderKeptRandomSecret } from "./admin-credential.js";
import { readCertificate } from "./certificate-authority.js";
import type { MirrorContext } from "./mirror-context.js";
import { mirrorLabels } from "./object-names.js";

// Peering renders: `regmirror.peers` in the cache config (members = the ready endpoints of the
// client Service, read from the EndpointSlice API; https checked against the mirror's CA and the
// Service's name), the replica's own URL from its pod IP and the shared secret through the
// environment (the ConfigMap holds no secret), and a ServiceAccount allowed to list the slices.

export const peerSecretKey = "secret";
/** ADR 0019: REGISTRY_* variables set cache config keys. */
export const peerSecretVariable = "REGISTRY_REGMIRROR_PEERS_SECRET";
/** The pod IP: the cache builds its URL from it (IPv6 in brackets) and its own listener. */
export const peerSelfAddressVariable = "REGISTRY_REGMIRROR_PEERS_SELFADDRESS";
/** The mirror's CA, next to config.yml in the cache config ConfigMap (a CA is no secret). */
export const peerCaKey = "peer-ca.crt";

/** One replica needs no peers: the cache runs alone as before. */
export function usesPeers(context: MirrorContext): boolean {
  return context.spec.replicas > 1;
}

/** The name the replicas' certificates carry (the pods are dialled by IP). */
export function peerServerName(context: MirrorContext): string {
  return `${context.names.cache}.${context.namespace}.svc`;
}

/** regmirror.peers without `self` and `secret`, which each pod gets from its environment. */
export function renderPeersConfig(context: MirrorContext, configDirectory: string) {
  return {
    members: {
      kubernetes: {
        namespace: context.namespace,
        // The client Service: its slices list only ready pods (the headless one publishes all).
        service: context.names.cache,
        portName: "https",
        scheme: "https",
      },
    },
    tls: { caFile: `${configDirectory}/${peerCaKey}`, serverName: peerServerName(context) },
  };
}

/** The cache container's variables: its pod IP from the downward API, the shared secret. */
export function peerEnvironment(context: MirrorContext): Record<string, unknown>[] {
  return [
    // The cache makes https://<pod IP>:5000 of it (https://[fd00::7]:5000 for IPv6): the URL it
    // also builds from a ready EndpointSlice address and the target port, so ownership agrees.
    {
      name: peerSelfAddressVariable,
      valueFrom: { fieldRef: { fieldPath: "status.podIP" } },
    },
    {
      name: peerSecretVariable,
      valueFrom: { secretKeyRef: { name: context.names.peerSecret, key: peerSecretKey } },
    },
  ];
}

/** Values that let the operator check the rendered config with the cache's own loader. */
export function samplePeerEnvironment(secret: string): Record<string, string> {
  return { [peerSelfAddressVariable]: "10.0.0.1", [peerSecretVariable]: secret };
}

/** The shared secret: 32 random bytes, made once and kept across reconciles. */
export function renderPeerSecret(context: MirrorContext, existing: KubeObject | undefined) {
  return renderKeptRandomSecret(context, existing, {
    name: context.names.peerSecret,
    key: peerSecretKey,
    component: "peers",
    bytes: 32,
  });
}

/** The cache pods' ServiceAccount, and the right to read their Service's EndpointSlices. */
export function renderPeerRbac(context: MirrorContext): KubeObject[] {
  const { names, namespace } = context;
  const metadata = {
    name: names.cacheServiceAccount,
    namespace,
    labels: mirrorLabels(context.name, "cache"),
  };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata, automountServiceAccountToken: false },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata,
      rules: [
        {
          apiGroups: ["discovery.k8s.io"],
          resources: ["endpointslices"],
          verbs: ["get", "list", "watch"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: metadata.name },
      subjects: [{ kind: "ServiceAccount", name: metadata.name, namespace }],
    },
  ];
}

export interface PeerMember {
  address: string;
  pod?: string;
  ready: boolean;
}

interface EndpointSliceShape {
  ports?: { name?: string; port?: number }[] | null;
  endpoints?:
    | {
        addresses?: string[];
        conditions?: { ready?: boolean | null };
        targetRef?: { name?: string };
      }[]
    | null;
}

/**
 * The replicas as the caches see them in the client Service's EndpointSlices (the same URLs the
 * cache builds: https://<address>:<port>); a missing ready condition counts as ready.
 */
export function peerMembers(context: MirrorContext, slices: readonly KubeObject[]): PeerMember[] {
  const members: PeerMember[] = [];
  for (const slice of slices) {
    if (slice.metadata?.labels?.["kubernetes.io/service-name"] !== context.names.cache) continue;
    const { ports, endpoints } = slice as KubeObject & EndpointSliceShape;
    const port = (ports ?? []).find((candidate) => candidate.name === "https")?.port;
    if (port === undefined) continue;
    for (const endpoint of endpoints ?? []) {
      const address = endpoint.addresses?.[0];
      if (!address) continue;
      const host = address.includes(":") ? `[${address}]` : address;
      members.push({
        address: `https://${host}:${port}`,
        ...(endpoint.targetRef?.name ? { pod: endpoint.targetRef.name } : {}),
        ready: endpoint.conditions?.ready !== false,
      });
    }
  }
  // Code-unit order: the same in every locale, so the status does not flap.
  return members.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/**
 * With the user's certificate (spec.tls.secretName): a warning when it does not name the Service
 * the replicas check each other against; they would then refuse each other and each download
 * from upstream.
 */
export function peerCertificateWarning(
  context: MirrorContext,
  certificatePem: string,
): { reason: string; message: string } | undefined {
  if (!usesPeers(context) || context.spec.tls.mode !== "secret") return undefined;
  const hosts = readCertificate(certificatePem)?.hosts ?? [];
  const wanted = peerServerName(context);
  const wildcard = `*.${wanted.slice(wanted.indexOf(".") + 1)}`;
  if (hosts.includes(wanted) || hosts.includes(wildcard)) return undefined;
  return {
    reason: "PeerCertificateMismatch",
    message: `replicas > 1: the certificate in spec.tls.secretName ${context.spec.tls.secretName} names ${hosts.join(", ") || "no DNS name"}, not ${wanted}; the replicas check each other against that name, so they refuse each other and each downloads from upstream. Add ${wanted} to the certificate's DNS names`,
  };
}
