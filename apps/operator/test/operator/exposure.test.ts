// Exposure that clients can trust, on a real API server: the address status gives for each
// exposure type, and a certificate from the operator's CA that verifies at that address (node
// names and addresses for NodePort, the load balancer's address once known, extra names). No
// kubelet or cloud controller runs: Nodes are created by the test, and the load balancer's
// address is written into the Service status by the test (names say so).

import { X509Certificate } from "node:crypto";
import { checkServerIdentity } from "node:tls";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  conditionOf,
  eventually,
  get,
  getMirror,
  type Json,
  mirrorApi,
  type OperatorCluster,
  operatorNamespace,
  patchDaemonSetRolledOut,
  patchWorkloadReady,
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

function createMirror(name: string, spec: Record<string, unknown>): Promise<KubeObject> {
  return cluster.client.create({
    ...mirrorApi,
    metadata: { name },
    spec: { upstreamUrl: "quay.io", nodeConfiguration: { modes: [] }, ...spec },
  });
}

/** A Node as the kubelet would register it (the test writes its status). */
async function createNode(
  name: string,
  addresses: { type: string; address: string }[],
  ready: boolean,
): Promise<void> {
  await cluster.client.create({ apiVersion: "v1", kind: "Node", metadata: { name } });
  await cluster.client.patch(
    { apiVersion: "v1", kind: "Node", name },
    {
      status: {
        addresses,
        conditions: [
          {
            type: "Ready",
            status: ready ? "True" : "False",
            reason: "Test",
            message: "written by the test",
            lastHeartbeatTime: new Date().toISOString(),
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
    },
    "application/merge-patch+json",
    { subresource: "status" },
  );
}

async function servingCertificate(mirror: string): Promise<{ pem: string; ca: string }> {
  const secret = await get(cluster.client, "Secret", `regmirror-${mirror}-tls`);
  const data = secret.data as Record<string, string>;
  const decode = (key: string) => Buffer.from(data[key] ?? "", "base64").toString();
  return { pem: decode("tls.crt"), ca: decode("ca.crt") };
}

/** What a TLS client checks: the chain to the operator's CA and the name it dialled. */
async function verifiesAt(mirror: string, host: string): Promise<boolean> {
  const { pem, ca } = await servingCertificate(mirror);
  const certificate = new X509Certificate(pem);
  if (!certificate.verify(new X509Certificate(ca).publicKey)) return false;
  const sans = certificate.subjectAltName ?? "";
  return checkServerIdentity(host, { subjectaltname: sans } as never) === undefined;
}

describe("exposure", () => {
  it("NodePort: status gives a Ready node's address and the node port; the certificate covers every node when asked", async () => {
    await createNode(
      "node-a",
      [
        { type: "InternalIP", address: "192.0.2.11" },
        { type: "Hostname", address: "node-a" },
      ],
      false,
    );
    await createNode(
      "node-b",
      [
        { type: "InternalIP", address: "192.0.2.12" },
        { type: "ExternalIP", address: "198.51.100.12" },
        { type: "Hostname", address: "node-b" },
      ],
      true,
    );
    await createMirror("nodeport", {
      exposure: { type: "NodePort", nodePort: 31443 },
      tls: {
        includeNodeAddresses: true,
        dnsNames: ["registry.example.com"],
        ipAddresses: ["203.0.113.50"],
      },
    });
    const mirror = await eventually(async () => {
      const current = await getMirror(cluster.client, "nodeport");
      expect((current.status as Json)?.serviceAddress).toBeDefined();
      return current;
    });
    // node-b is Ready and has an external address: what a client outside should dial.
    expect((mirror.status as Json).serviceAddress).toBe("198.51.100.12:31443");
    expect((mirror.status as Json).nodePort).toBe(31443);
    for (const host of [
      "node-a",
      "192.0.2.11",
      "node-b",
      "198.51.100.12",
      "registry.example.com",
      "203.0.113.50",
    ]) {
      expect(await verifiesAt("nodeport", host), host).toBe(true);
    }
    expect(await verifiesAt("nodeport", "192.0.2.99")).toBe(false);

    // A node joins: the certificate follows.
    await createNode("node-c", [{ type: "InternalIP", address: "192.0.2.13" }], true);
    await eventually(async () => expect(await verifiesAt("nodeport", "192.0.2.13")).toBe(true));
  });

  it("LoadBalancer: Ready waits for the load balancer's address, which then goes into status and the certificate (Service status written by the test)", async () => {
    await createMirror("balanced", {
      exposure: {
        type: "LoadBalancer",
        loadBalancer: {
          annotations: { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" },
          sourceRanges: ["10.0.0.0/8"],
        },
      },
    });
    const service = await eventually(() => get(cluster.client, "Service", "regmirror-balanced"));
    expect((service.spec as Json).type).toBe("LoadBalancer");
    expect((service.spec as Json).loadBalancerSourceRanges).toEqual(["10.0.0.0/8"]);
    expect(service.metadata?.annotations).toMatchObject({
      "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    });
    await eventually(() => get(cluster.client, "StatefulSet", "regmirror-balanced"));
    await patchWorkloadReady(cluster.client, "StatefulSet", "regmirror-balanced", 1);
    const pending = await eventually(async () => {
      const current = await getMirror(cluster.client, "balanced");
      expect(conditionOf(current, "Ready")?.reason).toBe("AddressPending");
      return current;
    });
    expect((pending.status as Json).serviceAddress).toBeUndefined();
    expect(conditionOf(pending, "Ready")?.message).toContain("load balancer's address");

    await cluster.client.patch(
      {
        apiVersion: "v1",
        kind: "Service",
        namespace: operatorNamespace,
        name: "regmirror-balanced",
      },
      {
        status: {
          loadBalancer: { ingress: [{ ip: "203.0.113.7" }, { hostname: "lb.example.com" }] },
        },
      },
      "application/merge-patch+json",
      { subresource: "status" },
    );
    await eventually(async () => {
      expect(await verifiesAt("balanced", "203.0.113.7")).toBe(true);
      expect(await verifiesAt("balanced", "lb.example.com")).toBe(true);
    });
    // The new certificate rolls the cache pods; once they are ready again, so is the mirror.
    // The test plays the StatefulSet controller: the operator may write the new pod template
    // after the certificate (a new generation), so each try reports the current one rolled out.
    const ready = await eventually(async () => {
      await patchWorkloadReady(cluster.client, "StatefulSet", "regmirror-balanced", 1);
      const current = await getMirror(cluster.client, "balanced");
      expect(conditionOf(current, "Ready")?.status).toBe("True");
      return current;
    });
    expect((ready.status as Json).serviceAddress).toBe("203.0.113.7:443");
  });

  it("ClusterIP and Ingress: status gives the ClusterIP or the ingress host", async () => {
    await createMirror("internal", {});
    await createMirror("ingressed", {
      exposure: { type: "Ingress", ingress: { host: "mirror.example.com" } },
    });
    const service = await eventually(() => get(cluster.client, "Service", "regmirror-internal"));
    await eventually(async () => {
      const internal = await getMirror(cluster.client, "internal");
      expect((internal.status as Json)?.serviceAddress).toBe(
        `${(service.spec as Json).clusterIP}:443`,
      );
      const ingressed = await getMirror(cluster.client, "ingressed");
      expect((ingressed.status as Json)?.serviceAddress).toBe("mirror.example.com:443");
    });
    expect(await verifiesAt("ingressed", "mirror.example.com")).toBe(true);
  });

  it("kubectl get rm shows why a mirror is not Ready in the Reason column (statuses patched by the test)", async () => {
    await createMirror("reasons", { nodeConfiguration: { modes: ["containerd"] } });
    await eventually(async () => {
      const mirror = await getMirror(cluster.client, "reasons");
      expect(conditionOf(mirror, "Ready")?.reason).toBe("CachePodsNotReady");
    });
    expect(await readyColumns("reasons")).toEqual({ Ready: "False", Reason: "CachePodsNotReady" });
    await eventually(() => get(cluster.client, "DaemonSet", "regmirror-reasons-node-agent"));
    await patchWorkloadReady(cluster.client, "StatefulSet", "regmirror-reasons", 1);
    await eventually(async () =>
      expect(await readyColumns("reasons")).toEqual({
        Ready: "False",
        Reason: "NodesNotConfigured",
      }),
    );
    await patchDaemonSetRolledOut(cluster.client, "regmirror-reasons-node-agent", 1);
    await eventually(async () =>
      expect(await readyColumns("reasons")).toEqual({ Ready: "True", Reason: "Available" }),
    );
  });
});

/** The Ready and Reason cells of `kubectl get rm NAME`. */
async function readyColumns(name: string): Promise<Record<string, unknown>> {
  const table = await cluster.tableOf(`/apis/regmirror.dev/v1alpha1/registrymirrors/${name}`);
  const columns = table.columnDefinitions.map((column) => column.name);
  const cells = table.rows[0]?.cells ?? [];
  return { Ready: cells[columns.indexOf("Ready")], Reason: cells[columns.indexOf("Reason")] };
}
