// A mirror's client Service, headless Service and optional Ingress.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import type { MirrorContext } from "./mirror-context.js";
import { mirrorLabels, selectorLabels, servicePort } from "./object-names.js";

// The client Service (ClusterIP, NodePort or LoadBalancer), the headless Service the StatefulSet needs, and the
// Ingress for type Ingress. The cache terminates TLS itself, so the Ingress passes TLS through,
// with the annotations the MSR docs give for ingress-nginx.

/** ingress-nginx: hand the TLS connection to the cache untouched; no size limit on layers. */
export const sslPassthroughAnnotations: Readonly<Record<string, string>> = {
  "nginx.ingress.kubernetes.io/ssl-passthrough": "true",
  "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
  "nginx.ingress.kubernetes.io/proxy-body-size": "0",
};

export function renderClientService(context: MirrorContext): KubeObject {
  const { exposure } = context.spec;
  const port: Record<string, unknown> = {
    name: "https",
    port: servicePort,
    targetPort: "https",
    protocol: "TCP",
  };
  if (exposure.type === "NodePort" && exposure.nodePort !== null) port.nodePort = exposure.nodePort;
  const loadBalancer = exposure.type === "LoadBalancer" ? exposure : undefined;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: context.names.cache,
      namespace: context.namespace,
      labels: mirrorLabels(context.name, "cache"),
      ...(loadBalancer && Object.keys(loadBalancer.annotations).length > 0
        ? { annotations: { ...loadBalancer.annotations } }
        : {}),
    },
    spec: {
      type: exposure.type === "Ingress" ? "ClusterIP" : exposure.type,
      selector: selectorLabels(context.name, "cache"),
      ports: [port],
      ...(loadBalancer?.className ? { loadBalancerClass: loadBalancer.className } : {}),
      ...(loadBalancer && loadBalancer.sourceRanges.length > 0
        ? { loadBalancerSourceRanges: [...loadBalancer.sourceRanges] }
        : {}),
    },
  };
}

export function renderHeadlessService(context: MirrorContext): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: context.names.headlessService,
      namespace: context.namespace,
      labels: mirrorLabels(context.name, "cache"),
    },
    spec: {
      clusterIP: "None",
      // Pods get DNS names before they are ready (peers and debugging).
      publishNotReadyAddresses: true,
      selector: selectorLabels(context.name, "cache"),
      ports: [{ name: "https", port: servicePort, targetPort: "https", protocol: "TCP" }],
    },
  };
}

export function renderIngress(context: MirrorContext): KubeObject | undefined {
  const { exposure } = context.spec;
  if (exposure.type !== "Ingress") return undefined;
  const host = exposure.host.replace(/:\d+$/, "");
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: context.names.ingress,
      namespace: context.namespace,
      labels: mirrorLabels(context.name, "cache"),
      annotations: { ...sslPassthroughAnnotations, ...exposure.annotations },
    },
    spec: {
      ...(exposure.className !== null ? { ingressClassName: exposure.className } : {}),
      tls: [{ hosts: [host] }],
      rules: [
        {
          host,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: context.names.cache, port: { name: "https" } } },
              },
            ],
          },
        },
      ],
    },
  };
}
