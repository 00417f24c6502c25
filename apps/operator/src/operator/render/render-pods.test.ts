// How the operator runs the images: the cache pods' probes, user, grace period and resources, and
// the node agent DaemonSet's tolerations and resources, by default and from the spec.
import { loadCacheConfigFromYaml, parseRegistryMirrorSpec } from "@regmirror/schemas";
import { describe, expect, it } from "vitest";
import { peerMembers } from "./cache-peers.js";
import type { MirrorContext } from "./mirror-context.js";
import { mirrorObjectNames } from "./object-names.js";
import { renderCacheConfig } from "./render-cache-config.js";
import { renderCacheWorkload } from "./render-cache-workload.js";
import { renderNodeAgentDaemonSet } from "./render-node-agent.js";

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext: { runAsUser: number; runAsGroup: number; fsGroup?: number };
  tolerations?: Record<string, unknown>[];
  containers: {
    readinessProbe: Record<string, unknown>;
    livenessProbe: Record<string, unknown>;
    resources: Record<string, unknown>;
  }[];
}

function contextFor(spec: unknown): MirrorContext {
  return {
    mirror: {
      apiVersion: "regmirror.dev/v1alpha1",
      kind: "RegistryMirror",
      metadata: { name: "hub", uid: "u" },
    },
    name: "hub",
    namespace: "regmirror-system",
    spec: parseRegistryMirrorSpec(spec),
    names: mirrorObjectNames("hub"),
    images: {
      operator: "ghcr.io/regmirror/regmirror-operator:1.0.0",
      cache: "ghcr.io/regmirror/regmirror-cache:1.0.0",
    },
  };
}

function cachePod(spec: unknown): PodSpec {
  const workload = renderCacheWorkload(contextFor(spec), { rolloutHash: "h" }) as {
    spec: { template: { spec: PodSpec } };
  };
  return workload.spec.template.spec;
}

function nodeAgentPod(spec: unknown): PodSpec {
  const daemonSet = renderNodeAgentDaemonSet(contextFor(spec), "{}", false) as {
    spec: { template: { spec: PodSpec } };
  };
  return daemonSet.spec.template.spec;
}

describe("the cache pods", () => {
  it("are probed over HTTPS on /readyz and /healthz, which answer before client auth", () => {
    const [container] = cachePod({ upstreamUrl: "quay.io" }).containers;
    expect(container?.readinessProbe).toMatchObject({
      httpGet: { path: "/readyz", port: "https", scheme: "HTTPS" },
    });
    expect(container?.livenessProbe).toMatchObject({
      httpGet: { path: "/healthz", port: "https", scheme: "HTTPS" },
    });
  });

  it("get longer to stop than the cache takes to drain, so a drain is never killed", () => {
    const spec = { upstreamUrl: "quay.io" };
    const drainMs = loadCacheConfigFromYaml(
      renderCacheConfig(contextFor(spec).spec),
    ).shutdownGraceMs;
    expect(drainMs).toBe(30_000);
    expect((cachePod(spec).terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(drainMs);
  });

  it("run as the image's user 65532, which owns the volume through fsGroup", () => {
    expect(cachePod({ upstreamUrl: "quay.io" }).securityContext).toMatchObject({
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
    });
  });

  it("request what the cache uses by default, and the spec's resources when it has them", () => {
    expect(cachePod({ upstreamUrl: "quay.io" }).containers[0]?.resources).toEqual({
      requests: { cpu: "100m", memory: "192Mi" },
      limits: { memory: "512Mi" },
    });
    const resources = { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "2Gi", cpu: 2 } };
    expect(cachePod({ upstreamUrl: "quay.io", resources }).containers[0]?.resources).toEqual(
      resources,
    );
  });
});

describe("the node agent DaemonSet", () => {
  it("tolerates every taint unless the spec lists tolerations (an empty list: none)", () => {
    expect(nodeAgentPod({ upstreamUrl: "quay.io" }).tolerations).toEqual([{ operator: "Exists" }]);
    const dedicated = [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }];
    expect(
      nodeAgentPod({
        upstreamUrl: "quay.io",
        nodeConfiguration: { modes: ["containerd"], tolerations: dedicated },
      }).tolerations,
    ).toEqual(dedicated);
    expect(
      nodeAgentPod({
        upstreamUrl: "quay.io",
        nodeConfiguration: { modes: ["containerd"], tolerations: [] },
      }).tolerations,
    ).toBeUndefined();
  });

  it("requests what the agent uses by default, and the spec's resources when it has them", () => {
    expect(nodeAgentPod({ upstreamUrl: "quay.io" }).containers[0]?.resources).toEqual({
      requests: { cpu: "10m", memory: "128Mi" },
      limits: { memory: "256Mi" },
    });
    const resources = { requests: { memory: "96Mi" } };
    expect(
      nodeAgentPod({
        upstreamUrl: "quay.io",
        nodeConfiguration: { modes: ["containerd"], resources },
      }).containers[0]?.resources,
    ).toEqual(resources);
  });

  it("refuses resources that are not quantities, naming the field", () => {
    expect(() =>
      parseRegistryMirrorSpec({
        upstreamUrl: "quay.io",
        resources: { limits: { memory: "lots" } },
      }),
    ).toThrow(/resources\.limits\.memory/);
    expect(() =>
      parseRegistryMirrorSpec({
        upstreamUrl: "quay.io",
        resources: { requests: { "Not A Name": "1" } },
      }),
    ).toThrow(/resources\.requests/);
  });
});

describe("peerMembers", () => {
  const slice = (service: string, ports: unknown[], endpoints: unknown[]) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { labels: { "kubernetes.io/service-name": service } },
    ports,
    endpoints,
  });

  it("lists the client Service's endpoints as the caches dial them, IPv6 in brackets, sorted", () => {
    const members = peerMembers(contextFor({ upstreamUrl: "quay.io", replicas: 3 }), [
      slice(
        "regmirror-hub",
        [{ name: "https", port: 5000 }],
        [
          { addresses: ["fd00::7"], conditions: { ready: false } },
          { addresses: ["10.0.0.9"], targetRef: { name: "regmirror-hub-2" } },
        ],
      ),
      // The headless Service's slice and a slice without the https port are not the members.
      slice(
        "regmirror-hub-headless",
        [{ name: "https", port: 5000 }],
        [{ addresses: ["10.0.0.1"] }],
      ),
      slice("regmirror-hub", [{ name: "metrics", port: 9000 }], [{ addresses: ["10.0.0.2"] }]),
    ]);
    expect(members).toEqual([
      // No ready condition: ready, as the cache counts it.
      { address: "https://10.0.0.9:5000", pod: "regmirror-hub-2", ready: true },
      { address: "https://[fd00::7]:5000", ready: false },
    ]);
  });
});
