// What the end-to-end tests share: the node, typed API clients, an upstream registry the node
// reaches at the node address over https (counted per client by the kit's proxy), workload
// images and small waits.
import { readFileSync } from "node:fs";
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import {
  buildTestImage,
  eventually,
  type FaultProxy,
  findBinary,
  type KubeNode,
  pushTestImage,
  startFaultProxy,
  startUpstreamRegistry,
  type UpstreamRegistry,
} from "@regmirror/test-kit";

export interface Clients {
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  kubeConfig: KubeConfig;
}

export function clientsFor(node: KubeNode): Clients {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(node.apiServer.kubeconfigPath);
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
  };
}

/** The upstream registry as the cluster sees it: `https://<node address>:PORT`, behind a counting proxy. */
export interface ClusterUpstream {
  registry: UpstreamRegistry;
  proxy: FaultProxy;
  /** `10.250.0.1:PORT`: how pods and the node name it. */
  host: string;
  stop(): Promise<void>;
}

export async function startClusterUpstream(node: KubeNode): Promise<ClusterUpstream> {
  const registry = await startUpstreamRegistry();
  const certificate = await node.trustedCa.issueServerCertificate([node.nodeAddress]);
  const proxy = await startFaultProxy({ target: registry.url, tls: certificate });
  const host = await node.exposeMachinePort(Number(new URL(proxy.url).port));
  return {
    registry,
    proxy,
    host,
    async stop() {
      await proxy.stop();
      await registry.stop();
    },
  };
}

/** A small runnable image (Debian's catatonit waiting for a signal) with one seeded layer. */
export async function pushWorkloadImage(
  upstream: ClusterUpstream,
  seed: string,
): Promise<{ reference: string; layerDigest: string; digest: string }> {
  const image = await buildTestImage({
    seed,
    layers: [16 * 1024],
    tag: "v1",
    entrypoint: { path: "/app", program: readFileSync(findBinary("catatonit")), args: ["-P"] },
  });
  await pushTestImage(image, upstream.registry, `e2e/${seed}`);
  const layerDigest = image.manifests[0]?.layerDigests.at(-1) ?? "";
  return { reference: `${upstream.host}/e2e/${seed}:v1`, layerDigest, digest: image.digest };
}

/** Who fetched a blob through the upstream proxy: user agents of its GETs. */
export function blobFetchers(upstream: ClusterUpstream, digest: string): string[] {
  return upstream.proxy
    .requests()
    .filter((request) => request.method === "GET" && request.path.includes(`/blobs/${digest}`))
    .map((request) => request.headers["user-agent"] ?? "");
}

export function isReady(pod: V1Pod): boolean {
  return (
    pod.status?.conditions?.some(
      (condition) => condition.type === "Ready" && condition.status === "True",
    ) ?? false
  );
}

/** Waits until the pods matching `labelSelector` in `namespace` hold `check`; returns them. */
export async function waitForPods(
  clients: Clients,
  namespace: string,
  labelSelector: string,
  check: (pods: V1Pod[]) => boolean,
  what: string,
  timeoutMs = 180_000,
): Promise<V1Pod[]> {
  return await eventually(
    async () => {
      const pods = (await clients.core.listNamespacedPod({ namespace, labelSelector })).items;
      if (!check(pods)) {
        throw new Error(
          `${what}: not yet; pods: ${JSON.stringify(
            pods.map((pod) => ({
              name: pod.metadata?.name,
              phase: pod.status?.phase,
              conditions: pod.status?.conditions?.map((c) => `${c.type}=${c.status}`),
              containers: pod.status?.containerStatuses?.map((c) => ({
                restarts: c.restartCount,
                state: c.state,
              })),
            })),
          )}`,
        );
      }
      return pods;
    },
    timeoutMs,
    500,
  );
}

/** A Deployment of one pod running `image` (tolerating a cordoned node when asked). */
export async function createWorkload(
  clients: Clients,
  name: string,
  image: string,
  options: { tolerateCordon?: boolean } = {},
): Promise<V1Pod> {
  await clients.apps.createNamespacedDeployment({
    namespace: "default",
    body: {
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              {
                name: "app",
                image,
                imagePullPolicy: "IfNotPresent",
                readinessProbe: { exec: { command: ["/app", "-V"] }, periodSeconds: 2 },
              },
            ],
            ...(options.tolerateCordon
              ? {
                  tolerations: [
                    {
                      key: "node.kubernetes.io/unschedulable",
                      operator: "Exists",
                      effect: "NoSchedule",
                    },
                  ],
                }
              : {}),
          },
        },
      },
    },
  });
  const [pod] = await waitForPods(
    clients,
    "default",
    `app=${name}`,
    (pods) => pods.length === 1 && pods.every(isReady),
    `workload ${name} Ready`,
  );
  return pod as V1Pod;
}
