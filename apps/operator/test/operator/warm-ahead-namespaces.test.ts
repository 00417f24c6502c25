// Warm-ahead watches workloads only in the namespaces its mirrors list, against a real
// kube-apiserver: a user allowed to read workloads in one namespace only (a Role, no ClusterRole)
// is enough; a mirror that lists no namespace makes it watch every namespace.
import { KubeConfig } from "@kubernetes/client-node";
import {
  createInformer,
  createKubernetesClient,
  type Informer,
  type KubernetesClient,
} from "@regmirror/k8s-reconciler";
import { parseRegistryMirrorSpec } from "@regmirror/schemas";
import { eventually } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createWarmAhead,
  type WarmAhead,
  type WarmedMirror,
} from "../../src/operator/warm/warm-ahead.js";
import { createWarmCounters, type WarmCounters } from "../../src/operator/warm/warm-metrics.js";
import {
  type OperatorCluster,
  operatorNamespace,
  startOperatorCluster,
} from "./operator-cluster.js";

const workloadRules = [
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
  {
    apiGroups: ["apps"],
    resources: ["deployments", "statefulsets", "daemonsets"],
    verbs: ["get", "list", "watch"],
  },
  { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: ["get", "list", "watch"] },
];

let cluster: OperatorCluster;
let userClient: KubernetesClient;
let secrets: Informer;
let counters: WarmCounters;
let warmAhead: WarmAhead;
let mirrors: WarmedMirror[];

function mirrorListing(namespaces: string[]): WarmedMirror {
  return {
    name: "local",
    spec: parseRegistryMirrorSpec({
      upstreamUrl: "https://registry.example.com",
      nodeConfiguration: { modes: [] },
      warmAhead: { namespaces },
    }),
  };
}

let deploymentCount = 0;
/** A new Deployment in `namespace` whose image lives on the mirrored registry. */
async function createDeployment(namespace: string): Promise<void> {
  deploymentCount += 1;
  const name = `app-${deploymentCount}`;
  await cluster.client.create({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: "app", image: `registry.example.com/team/${name}:v1` }],
        },
      },
    },
  });
}

/** Warm requests counted for the mirror (whatever their outcome: no cache runs here). */
function warmRequests(): number {
  return counters
    .render()
    .split("\n")
    .filter((line) => line.startsWith("regmirror_operator_warm_requests_total{"))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

beforeAll(async () => {
  cluster = await startOperatorCluster();
  for (const name of ["shop", "other"]) {
    await cluster.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }
  const user = cluster.server.unprivilegedUser.username;
  await cluster.client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "warm-ahead", namespace: "shop" },
    rules: workloadRules,
  });
  await cluster.client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "warm-ahead", namespace: "shop" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "warm-ahead" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.server.unprivilegedUser.kubeconfigPath);
  userClient = createKubernetesClient({ kubeConfig });
  // The Secrets the warm requests need are read with the admin client: not what is tested here.
  secrets = createInformer({
    client: cluster.client,
    apiVersion: "v1",
    kind: "Secret",
    namespace: operatorNamespace,
  });
  secrets.start();
  counters = createWarmCounters();
  mirrors = [mirrorListing(["shop"])];
  warmAhead = createWarmAhead({
    client: userClient,
    mirrors: () => mirrors,
    secrets,
    namespace: operatorNamespace,
    counters,
    // Nothing answers here: each warm fails at once, after it was counted.
    cacheAddress: () => ({ url: "http://127.0.0.1:9" }),
  });
  warmAhead.start();
});

afterAll(async () => {
  await warmAhead?.close();
  await secrets?.close();
  await userClient?.close();
  await cluster?.stop();
});

describe("warm-ahead's watches", () => {
  it("with mirrors that list namespaces, a Role in them is enough: a new Deployment there is warmed", async () => {
    await eventually(async () => {
      await createDeployment("shop");
      expect(warmRequests()).toBeGreaterThan(0);
    }, 45_000);
  });

  it("a mirror that lists no namespace makes it watch every namespace (which needs a ClusterRole)", async () => {
    await cluster.client.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "warm-ahead-everywhere" },
      rules: workloadRules,
    });
    await cluster.client.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "warm-ahead-everywhere" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "warm-ahead-everywhere",
      },
      subjects: [
        {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "User",
          name: cluster.server.unprivilegedUser.username,
        },
      ],
    });
    mirrors = [mirrorListing([])];
    warmAhead.mirrorsChanged();
    const before = warmRequests();
    await eventually(async () => {
      await createDeployment("other");
      expect(warmRequests()).toBeGreaterThan(before);
    }, 45_000);
  });
});
