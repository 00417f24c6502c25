// replicas > 1 against a real kube-apiserver: the peer configuration, its Secret and RBAC, and
// their removal when the mirror goes back to one replica. No kubelet runs: pods never start.
import "reflect-metadata";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  get,
  type Json,
  mirrorApi,
  type OperatorCluster,
  operatorNamespace,
  startOperatorCluster,
} from "./operator-cluster.js";

let cluster: OperatorCluster;

beforeAll(async () => {
  cluster = await startOperatorCluster();
  cluster.startOperator();
});

afterAll(async () => {
  await cluster?.stop();
});

function decoded(secret: KubeObject, key: string): string {
  return Buffer.from((secret.data as Record<string, string>)[key] ?? "", "base64").toString();
}

function ownerUid(object: KubeObject): string | undefined {
  return object.metadata?.ownerReferences?.find((reference) => reference.controller)?.uid;
}

describe("a RegistryMirror with replicas: 3", () => {
  it("renders peers, their shared Secret and the right to list EndpointSlices; one replica takes them away", async () => {
    const mirror = await cluster.client.create<KubeObject>({
      ...mirrorApi,
      metadata: { name: "peered" },
      spec: { upstreamUrl: "https://quay.io", replicas: 3 },
    });
    const statefulSet = await eventually(() =>
      get(cluster.client, "StatefulSet", "regmirror-peered"),
    );
    const pod = (statefulSet.spec as Json).template.spec;
    expect(pod.serviceAccountName).toBe("regmirror-peered-cache");
    expect(pod.automountServiceAccountToken).toBe(true);
    const env = pod.containers[0].env as Json[];
    expect(env).toEqual(
      expect.arrayContaining([
        {
          name: "POD_IP",
          valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } },
        },
        { name: "REGISTRY_REGMIRROR_PEERS_SELF", value: "https://$(POD_IP):5000" },
        {
          name: "REGISTRY_REGMIRROR_PEERS_SECRET",
          valueFrom: { secretKeyRef: { name: "regmirror-peered-peers", key: "secret" } },
        },
      ]),
    );

    // The secret: random, long enough for the cache, never in the ConfigMap.
    const secret = await get(cluster.client, "Secret", "regmirror-peered-peers");
    const shared = decoded(secret, "secret");
    expect(shared.length).toBeGreaterThanOrEqual(32);
    expect(ownerUid(secret)).toBe(mirror.metadata?.uid);
    const configMap = await get(cluster.client, "ConfigMap", "regmirror-peered-config");
    const data = configMap.data as Record<string, string>;
    expect(JSON.stringify(data)).not.toContain(shared);
    // What a pod reads: the file plus its environment, through the cache's own loader.
    const config = loadCacheConfigFromYaml(data["config.yml"] ?? "", "config.yml", {
      environment: {
        REGISTRY_REGMIRROR_PEERS_SELF: "https://10.1.0.7:5000",
        REGISTRY_REGMIRROR_PEERS_SECRET: shared,
      },
    });
    expect(config.peers?.self).toBe("https://10.1.0.7:5000");
    expect(config.peers?.members).toMatchObject({
      kind: "kubernetes",
      namespace: operatorNamespace,
      service: "regmirror-peered",
      portName: "https",
      scheme: "https",
    });
    expect(config.peers?.tls).toEqual({
      caFile: "/etc/regmirror/cache/peer-ca.crt",
      serverName: `regmirror-peered.${operatorNamespace}.svc`,
    });
    const tls = await get(cluster.client, "Secret", "regmirror-peered-tls");
    expect(data["peer-ca.crt"]).toBe(decoded(tls, "ca.crt"));

    // The pods' account may read EndpointSlices in the operator's namespace, nothing more.
    const account = await get(cluster.client, "ServiceAccount", "regmirror-peered-cache");
    const role = await get(cluster.client, "Role", "regmirror-peered-cache");
    const binding = await get(cluster.client, "RoleBinding", "regmirror-peered-cache");
    for (const object of [account, role, binding]) {
      expect(ownerUid(object)).toBe(mirror.metadata?.uid);
    }
    expect(role.rules).toEqual([
      {
        apiGroups: ["discovery.k8s.io"],
        resources: ["endpointslices"],
        verbs: ["get", "list", "watch"],
      },
    ]);
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "regmirror-peered-cache", namespace: operatorNamespace },
    ]);

    // No controller manager runs: the test writes the slice the Service's controller would,
    // with the Service's labels. The status lists each replica and whether it is a member.
    const service = await get(cluster.client, "Service", "regmirror-peered");
    await cluster.client.create({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "regmirror-peered-abcde",
        namespace: operatorNamespace,
        labels: { ...service.metadata?.labels, "kubernetes.io/service-name": "regmirror-peered" },
      },
      addressType: "IPv4",
      ports: [{ name: "https", port: 5000, protocol: "TCP" }],
      endpoints: [
        {
          addresses: ["10.1.0.7"],
          conditions: { ready: true },
          targetRef: { kind: "Pod", name: "regmirror-peered-0" },
        },
        {
          addresses: ["10.1.0.8"],
          conditions: { ready: false },
          targetRef: { kind: "Pod", name: "regmirror-peered-1" },
        },
      ],
    });
    await eventually(async () => {
      const current = await cluster.client.get<KubeObject>({ ...mirrorApi, name: "peered" });
      expect((current.status as Json)?.peers).toEqual([
        { address: "https://10.1.0.7:5000", pod: "regmirror-peered-0", ready: true },
        { address: "https://10.1.0.8:5000", pod: "regmirror-peered-1", ready: false },
      ]);
    });

    // A change that rolls the pods keeps the secret: replicas of both generations agree.
    await cluster.client.patch(
      { ...mirrorApi, name: "peered" },
      { spec: { blobTtl: "2h" } },
      "application/merge-patch+json",
    );
    await eventually(async () => {
      const current = await get(cluster.client, "ConfigMap", "regmirror-peered-config");
      expect((current.data as Record<string, string>)["config.yml"]).toContain("blobTtl");
    });
    expect(decoded(await get(cluster.client, "Secret", "regmirror-peered-peers"), "secret")).toBe(
      shared,
    );

    // One replica: a cache alone again, without an API token or peer objects.
    await cluster.client.patch(
      { ...mirrorApi, name: "peered" },
      { spec: { replicas: 1 } },
      "application/merge-patch+json",
    );
    await eventually(async () => {
      for (const [kind, name] of [
        ["Secret", "regmirror-peered-peers"],
        ["ServiceAccount", "regmirror-peered-cache"],
        ["Role", "regmirror-peered-cache"],
        ["RoleBinding", "regmirror-peered-cache"],
      ] as const) {
        await expect(get(cluster.client, kind, name)).rejects.toThrow(/404/);
      }
    });
    const single = await get(cluster.client, "StatefulSet", "regmirror-peered");
    const singlePod = (single.spec as Json).template.spec;
    expect(singlePod.automountServiceAccountToken).toBe(false);
    expect(singlePod.serviceAccountName).toBe("default");
    await eventually(async () => {
      const current = await cluster.client.get<KubeObject>({ ...mirrorApi, name: "peered" });
      expect(current.status as Json).not.toHaveProperty("peers");
    });
    const singleConfig = await get(cluster.client, "ConfigMap", "regmirror-peered-config");
    const singleData = singleConfig.data as Record<string, string>;
    expect(loadCacheConfigFromYaml(singleData["config.yml"] ?? "").peers).toBeNull();
    expect(singleData).not.toHaveProperty("peer-ca.crt");
  });
});
