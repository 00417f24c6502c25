// Addresses clients and nodes use to reach a mirror, from its Service and the Nodes.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import type { RegistryMirrorSpec } from "@regmirror/schemas";
import { servicePort } from "./object-names.js";

// Where clients reach a mirror, by exposure type, and the names its certificate must then
// cover: the ClusterIP, a node's address at the node port, the load balancer's address once the
// cloud has given one, or the ingress host.

interface NodeAddress {
  type: string;
  address: string;
}

interface NodeFields {
  status?: {
    addresses?: NodeAddress[];
    conditions?: { type: string; status: string }[];
  };
}

interface ServiceFields {
  spec?: { clusterIP?: string; ports?: { nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** The load balancer's IPs and host names, as its controller wrote them into the Service. */
export function loadBalancerAddresses(service: KubeObject): string[] {
  const ingress = (service as ServiceFields).status?.loadBalancer?.ingress ?? [];
  return ingress.flatMap((entry) => entry.ip ?? entry.hostname ?? []);
}

/** Every node's name and addresses (what https://<node>:<nodePort> may be dialled by). */
export function nodeNamesAndAddresses(nodes: readonly KubeObject[]): string[] {
  const hosts = new Set<string>();
  for (const node of nodes) {
    if (node.metadata?.name) hosts.add(node.metadata.name);
    for (const { address } of (node as NodeFields).status?.addresses ?? []) hosts.add(address);
  }
  return [...hosts].sort();
}

const preferredAddressTypes = [
  "ExternalIP",
  "InternalIP",
  "ExternalDNS",
  "InternalDNS",
  "Hostname",
];

/** One node address for NodePort clients: a Ready node first, its external address first. */
export function preferredNodeAddress(nodes: readonly KubeObject[]): string | undefined {
  const ready = (node: KubeObject) =>
    (node as NodeFields).status?.conditions?.some(
      (condition) => condition.type === "Ready" && condition.status === "True",
    ) === true;
  const ordered = [...nodes].sort(
    (a, b) =>
      Number(ready(b)) - Number(ready(a)) ||
      (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
  );
  for (const node of ordered) {
    const addresses = (node as NodeFields).status?.addresses ?? [];
    for (const type of preferredAddressTypes) {
      const found = addresses.find((address) => address.type === type);
      if (found) return found.address;
    }
  }
  return undefined;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * host:port a client should use; undefined while a load balancer has no address yet. NodePort
 * without any Node known falls back to the ClusterIP (reachable inside the cluster).
 */
export function clientAddress(
  spec: RegistryMirrorSpec,
  service: KubeObject,
  nodes: readonly KubeObject[],
): string | undefined {
  const fields = service as ServiceFields;
  const clusterAddress = hostPort(fields.spec?.clusterIP ?? "", servicePort);
  switch (spec.exposure.type) {
    case "ClusterIP":
      return clusterAddress;
    case "NodePort": {
      const nodePort = fields.spec?.ports?.[0]?.nodePort;
      const node = preferredNodeAddress(nodes);
      return node !== undefined && nodePort !== undefined
        ? hostPort(node, nodePort)
        : clusterAddress;
    }
    case "LoadBalancer": {
      const [address] = loadBalancerAddresses(service);
      return address === undefined ? undefined : hostPort(address, servicePort);
    }
    case "Ingress":
      return hostPort(spec.exposure.host.replace(/:\d+$/, ""), 443);
  }
}

/** Names beyond the Service's own that the serving certificate must cover. */
export function extraCertificateHosts(
  spec: RegistryMirrorSpec,
  service: KubeObject,
  nodes: readonly KubeObject[],
): string[] {
  if (spec.tls.mode !== "operator-ca") return [];
  const hosts = [
    ...spec.tls.dnsNames.map((name) => name.replace(/:\d+$/, "")),
    ...spec.tls.ipAddresses,
  ];
  if (spec.exposure.type === "LoadBalancer") hosts.push(...loadBalancerAddresses(service));
  if (spec.exposure.type === "NodePort" && spec.tls.includeNodeAddresses) {
    hosts.push(...nodeNamesAndAddresses(nodes));
  }
  return hosts;
}
