// The operator as a user meets it: its images installed with the Helm chart on a real one-node
// cluster; a RegistryMirror whose cache pod, node agent and kubelet pulls are all real.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";
import {
  eventually,
  type KubeNode,
  makeTempDirectory,
  removeTempDirectory,
  snapshotTree,
  startKubeNode,
  toolPath,
} from "@regmirror/test-kit";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blobFetchers,
  type Clients,
  type ClusterUpstream,
  clientsFor,
  createWorkload,
  isReady,
  pushWorkloadImage,
  startClusterUpstream,
  waitForPods,
} from "./cluster.js";
import { pushOperatorImages } from "./operator-images.js";

const run = promisify(execFile);
const repositoryRoot = join(import.meta.dirname, "..", "..");
const namespace = "regmirror-system";
const mirrorName = "e2e";
const mirrorApi = { group: "regmirror.dev", version: "v1alpha1", plural: "registrymirrors" };
const cacheSelector = `app.kubernetes.io/instance=${mirrorName},app.kubernetes.io/component=cache`;
const agentSelector = `app.kubernetes.io/instance=${mirrorName},app.kubernetes.io/component=node-agent`;
const isContainerd = (userAgent: string) => userAgent.startsWith("containerd/");

describe("the operator on a real node (Helm chart, RegistryMirror, kubelet pulls)", () => {
  let node: KubeNode;
  let clients: Clients;
  let upstream: ClusterUpstream;
  let temporary: string;
  let nodeContainerdBefore: Record<string, string>;
  let firstWorkload: V1Pod;

  beforeAll(async () => {
    temporary = makeTempDirectory("regmirror-e2e-");
    node = await startKubeNode({ log: (line) => console.log(line) });
    clients = clientsFor(node);
    upstream = await startClusterUpstream(node);
    nodeContainerdBefore = await snapshotTree(node.machinePath("/etc/containerd"));
  }, 600_000);

  afterAll(async () => {
    await node?.stop();
    await upstream?.stop();
    if (temporary) await removeTempDirectory(temporary);
  });

  it("installs with the Helm chart: the operator pod becomes Ready through its probes", async () => {
    const images = await pushOperatorImages(node.imageRegistry);
    const helmHome = join(temporary, "helm");
    mkdirSync(helmHome, { recursive: true });
    await run(
      toolPath("helm"),
      [
        "install",
        "regmirror",
        join(repositoryRoot, "deploy/helm/regmirror-operator"),
        "--namespace",
        namespace,
        "--create-namespace",
        "--kubeconfig",
        node.apiServer.kubeconfigPath,
        "--set",
        `image.repository=${images.operator.repository}`,
        "--set",
        `image.tag=${images.operator.tag}`,
        "--set",
        `cacheImage.repository=${images.cache.repository}`,
        "--set",
        `cacheImage.tag=${images.cache.tag}`,
        "--set",
        "replicaCount=1",
        "--set",
        "nodeCleanupTimeout=2m",
      ],
      {
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(helmHome, "cache"),
          HELM_CONFIG_HOME: join(helmHome, "config"),
          HELM_DATA_HOME: join(helmHome, "data"),
        },
      },
    );
    const [operatorPod] = await waitForPods(
      clients,
      namespace,
      "app.kubernetes.io/name=regmirror-operator",
      (pods) => pods.length === 1 && pods.every(isReady),
      "operator pod Ready",
    );
    expect(operatorPod?.spec?.nodeName).toBe(node.nodeName);
  });

  it("a RegistryMirror: the cache pod is Ready through its probes, the node agent writes hosts.toml and the CA", async () => {
    // No dynamic provisioner on this node: a local volume for the cache's claim, as an admin of
    // such a cluster makes one.
    mkdirSync(node.machinePath("/var/lib/regmirror-e2e-volume"), { recursive: true });
    await clients.core.createPersistentVolume({
      body: {
        metadata: { name: "regmirror-e2e-volume" },
        spec: {
          capacity: { storage: "20Gi" },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Delete",
          local: { path: "/var/lib/regmirror-e2e-volume" },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    { key: "kubernetes.io/hostname", operator: "In", values: [node.nodeName] },
                  ],
                },
              ],
            },
          },
        },
      },
    });
    await clients.core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: "e2e-upstream-ca" },
        data: { "ca.crt": node.trustedCa.certificatePem },
      },
    });
    await clients.custom.createClusterCustomObject({
      ...mirrorApi,
      body: {
        apiVersion: "regmirror.dev/v1alpha1",
        kind: "RegistryMirror",
        metadata: { name: mirrorName },
        spec: {
          upstreamUrl: `https://${upstream.host}`,
          upstreamCaBundle: { configMapName: "e2e-upstream-ca" },
        },
      },
    });
    const [cachePod] = await waitForPods(
      clients,
      namespace,
      cacheSelector,
      (pods) => pods.length === 1 && pods.every(isReady),
      "cache pod Ready",
    );
    expect(cachePod?.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    await waitForPods(
      clients,
      namespace,
      agentSelector,
      (pods) => pods.length === 1 && pods.every(isReady),
      "node agent pod Ready",
    );
    const service = await clients.core.readNamespacedService({
      name: `regmirror-${mirrorName}`,
      namespace,
    });
    const clusterIp = service.spec?.clusterIP ?? "";
    const hostsDirectory = node.machinePath(`${node.certsDirectory}/${upstream.host}`);
    const written = Object.keys(await snapshotTree(hostsDirectory));
    expect(written).toContain("hosts.toml");
    const hostsToml = readFileSync(join(hostsDirectory, "hosts.toml"), "utf8");
    expect(hostsToml).toContain(`server = "https://${upstream.host}"`);
    expect(hostsToml).toContain(`[host."https://${clusterIp}"]`);
    const caSecret = await clients.core.readNamespacedSecret({
      name: `regmirror-${mirrorName}-ca`,
      namespace,
    });
    const caPem = Buffer.from(caSecret.data?.["ca.crt"] ?? "", "base64").toString("utf8");
    const caFiles = written.filter((path) => path.endsWith(".crt"));
    expect(caFiles.length).toBe(1);
    // The agent heads the file with a comment saying it wrote it; the certificate follows.
    expect(readFileSync(join(hostsDirectory, caFiles[0] ?? ""), "utf8")).toContain(caPem.trim());
  });

  it("a workload whose image names the upstream is pulled by the kubelet through the cache", async () => {
    const image = await pushWorkloadImage(upstream, "first-workload");
    upstream.proxy.resetCounts();
    firstWorkload = await createWorkload(clients, "first-workload", image.reference);
    expect(firstWorkload.status?.containerStatuses?.[0]?.imageID).toContain(image.digest);
    const fetchers = blobFetchers(upstream, image.layerDigest);
    expect(fetchers.length).toBeGreaterThan(0);
    expect(fetchers.filter(isContainerd)).toEqual([]);
    expect(await cacheBlobServes()).toBeGreaterThan(0);
  });

  it("the mirror's status and printer columns report what the cluster shows", async () => {
    const service = await clients.core.readNamespacedService({
      name: `regmirror-${mirrorName}`,
      namespace,
    });
    const mirror = await eventually(async () => {
      const current = (await clients.custom.getClusterCustomObject({
        ...mirrorApi,
        name: mirrorName,
      })) as {
        status?: Record<string, unknown> & { conditions?: { type: string; status: string }[] };
      };
      const ready = current.status?.conditions?.find((condition) => condition.type === "Ready");
      if (ready?.status !== "True") throw new Error(`not Ready: ${JSON.stringify(current.status)}`);
      return current;
    }, 120_000);
    expect(mirror.status).toMatchObject({
      readyReplicas: 1,
      nodesConfigured: 1,
      nodesTotal: 1,
    });
    expect(JSON.stringify(mirror.status)).toContain(service.spec?.clusterIP ?? "no ClusterIP");
    // What `kubectl get rm` prints: the server renders the CRD's printer columns as a Table.
    const table = await apiGet(`/apis/regmirror.dev/v1alpha1/registrymirrors/${mirrorName}`, {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    const columns = (table.columnDefinitions as { name: string }[]).map((column) => column.name);
    const cells = (table.rows as { cells: unknown[] }[])[0]?.cells ?? [];
    const row = Object.fromEntries(columns.map((name, index) => [name, cells[index]]));
    // Each column against the cluster itself: the Service's address, the cache pods that are
    // Ready, the node agents that are Ready.
    const cachePods = await clients.core.listNamespacedPod({
      namespace,
      labelSelector: cacheSelector,
    });
    const agentPods = await clients.core.listNamespacedPod({
      namespace,
      labelSelector: agentSelector,
    });
    expect(row).toMatchObject({
      Name: mirrorName,
      Upstream: `https://${upstream.host}`,
      Ready: "True",
      Address: `${service.spec?.clusterIP}:443`,
      Replicas: cachePods.items.filter(isReady).length,
      Nodes: agentPods.items.filter(isReady).length,
    });
  });

  it("the cache pod is killed: Kubernetes restarts it and pulls go through the cache again", async () => {
    const [before] = await waitForPods(
      clients,
      namespace,
      cacheSelector,
      (pods) => pods.length === 1,
      "cache pod",
    );
    const containerId = (before?.status?.containerStatuses?.[0]?.containerID ?? "").replace(
      /^containerd:\/\//,
      "",
    );
    await node.run(toolPath("ctr"), [
      "--address",
      "/run/containerd/containerd.sock",
      "--namespace",
      "k8s.io",
      "tasks",
      "kill",
      "--signal",
      "SIGKILL",
      containerId,
    ]);
    await waitForPods(
      clients,
      namespace,
      cacheSelector,
      (pods) =>
        pods.length === 1 &&
        pods.every(isReady) &&
        (pods[0]?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      "cache container restarted and Ready",
    );
    const image = await pushWorkloadImage(upstream, "after-restart");
    await createWorkload(clients, "after-restart", image.reference);
    const fetchers = blobFetchers(upstream, image.layerDigest);
    expect(fetchers.length).toBeGreaterThan(0);
    expect(fetchers.filter(isContainerd)).toEqual([]);
  });

  it("while the cache pod is down, containerd falls back to the upstream; when it is back, pulls go through it again", async () => {
    // A drain: the node takes no new pods, the cache pod is deleted and its replacement waits.
    await setUnschedulable(true);
    const [cachePod] = await waitForPods(
      clients,
      namespace,
      cacheSelector,
      (pods) => pods.length === 1,
      "cache pod",
    );
    await clients.core.deleteNamespacedPod({
      name: cachePod?.metadata?.name ?? "",
      namespace,
      gracePeriodSeconds: 0,
    });
    await waitForPods(
      clients,
      namespace,
      cacheSelector,
      (pods) => pods.every((pod) => pod.status?.phase === "Pending" && !pod.spec?.nodeName),
      "cache pod gone and its replacement Pending",
    );
    const whileDown = await pushWorkloadImage(upstream, "while-cache-down");
    await createWorkload(clients, "while-cache-down", whileDown.reference, {
      tolerateCordon: true,
    });
    expect(
      blobFetchers(upstream, whileDown.layerDigest).filter(isContainerd).length,
    ).toBeGreaterThan(0);

    await setUnschedulable(false);
    await waitForPods(
      clients,
      namespace,
      cacheSelector,
      (pods) => pods.length === 1 && pods.every(isReady),
      "cache pod back and Ready",
    );
    const afterBack = await pushWorkloadImage(upstream, "after-cache-back");
    await createWorkload(clients, "after-cache-back", afterBack.reference);
    const fetchers = blobFetchers(upstream, afterBack.layerDigest);
    expect(fetchers.length).toBeGreaterThan(0);
    expect(fetchers.filter(isContainerd)).toEqual([]);
  });

  it("deleting the mirror removes the node's files byte-identically; workloads keep running; new pulls go to the upstream", async () => {
    await clients.custom.deleteClusterCustomObject({ ...mirrorApi, name: mirrorName });
    // The finalizer completes on its own: the node agents' rollout is real.
    await eventually(async () => {
      await expect(
        clients.custom.getClusterCustomObject({ ...mirrorApi, name: mirrorName }),
      ).rejects.toThrow(/404|not found/i);
    }, 180_000);
    await eventually(async () => {
      expect(await snapshotTree(node.machinePath("/etc/containerd"))).toEqual(nodeContainerdBefore);
    }, 60_000);
    const [still] = await waitForPods(
      clients,
      "default",
      "app=first-workload",
      (pods) => pods.length === 1 && pods.every(isReady),
      "first workload still Ready",
    );
    expect(still?.metadata?.uid).toBe(firstWorkload.metadata?.uid);
    const direct = await pushWorkloadImage(upstream, "after-mirror-deleted");
    await createWorkload(clients, "after-mirror-deleted", direct.reference);
    const fetchers = blobFetchers(upstream, direct.layerDigest);
    expect(fetchers.length).toBeGreaterThan(0);
    expect(fetchers.every(isContainerd)).toBe(true);
  });

  async function setUnschedulable(unschedulable: boolean): Promise<void> {
    await clients.core.patchNode({
      name: node.nodeName,
      body: [{ op: "add", path: "/spec/unschedulable", value: unschedulable }],
    });
  }

  // biome-ignore lint/suspicious/noExplicitAny: a Table, read field by field
  async function apiGet(path: string, headers: Record<string, string>): Promise<any> {
    const agent = new Agent({ connect: { ca: node.apiServer.ca } });
    try {
      const response = await fetch(`${node.apiServer.url}${path}`, {
        headers: { authorization: `Bearer ${node.apiServer.token}`, ...headers },
        dispatcher: agent,
      });
      return await response.json();
    } finally {
      await agent.close();
    }
  }

  /** Blob GETs the cache answered 200, from its Prometheus metrics (read through the node). */
  async function cacheBlobServes(): Promise<number> {
    const [cachePod] = await waitForPods(
      clients,
      namespace,
      cacheSelector,
      (pods) => pods.every(isReady),
      "cache pod",
    );
    const address = await node.reachNodeAddress(cachePod?.status?.podIP ?? "", 5000);
    // The cache's certificate names its Service, not this local port: only the count matters here.
    const agent = new Agent({ connect: { rejectUnauthorized: false } });
    try {
      const text = await (await fetch(`https://${address}/metrics`, { dispatcher: agent })).text();
      return [...text.matchAll(/^regmirror_cache_http_requests_total\{([^}]*)\} (\d+)/gm)]
        .filter(
          ([, labels]) => /route="blob"/.test(labels ?? "") && /status="200"/.test(labels ?? ""),
        )
        .reduce((sum, [, , value]) => sum + Number(value), 0);
    } finally {
      await agent.close();
    }
  }
});
