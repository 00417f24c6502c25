// The real API server for operator tests (etcd + kube-apiserver from the test kit; no kubelet,
// no controller manager, no garbage collector) with the RegistryMirror CRD installed.
import { readFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import {
  createKubernetesClient,
  type KubeObject,
  type KubernetesClient,
} from "@regmirror/k8s-reconciler";
import { eventually, type KubeApiServer, startKubeApiServer } from "@regmirror/test-kit";
import { parse } from "yaml";
import {
  createRegistryMirrorOperator,
  type RegistryMirrorOperator,
  type RegistryMirrorOperatorOptions,
} from "../../src/operator/index.js";

export const repositoryRoot = join(import.meta.dirname, "../../../..");
export const operatorNamespace = "regmirror-system";

export interface OperatorCluster {
  server: KubeApiServer;
  kubeConfig: KubeConfig;
  /** The test's own client, for setup and checks. */
  client: KubernetesClient;
  /** Starts an operator process-alike; closed by stop(). */
  startOperator(options?: Partial<RegistryMirrorOperatorOptions>): RegistryMirrorOperator;
  /** GET `path` as kubectl's table form (the printer columns, computed by the API server). */
  tableOf(path: string): Promise<ApiTable>;
  stop(): Promise<void>;
}

export interface ApiTable {
  columnDefinitions: { name: string }[];
  rows: { cells: unknown[] }[];
}

export async function readYamlDocuments(file: string): Promise<KubeObject[]> {
  const { parseAllDocuments } = await import("yaml");
  return parseAllDocuments(await readFile(file, "utf8"))
    .map((document) => document.toJS() as KubeObject)
    .filter((document) => document !== null);
}

export async function startOperatorCluster(): Promise<OperatorCluster> {
  const server = await startKubeApiServer();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(server.kubeconfigPath);
  const client = createKubernetesClient({ kubeConfig });
  const operators: RegistryMirrorOperator[] = [];
  try {
    const crd = parse(
      await readFile(
        join(repositoryRoot, "apps/operator/deploy/crd/regmirror.dev_registrymirrors.yaml"),
        "utf8",
      ),
    ) as KubeObject;
    await client.apply(crd, { fieldManager: "test", force: true });
    await eventually(async () => {
      const applied = await client.get<KubeObject>({
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        name: "registrymirrors.regmirror.dev",
      });
      const conditions = (applied.status as { conditions?: { type: string; status: string }[] })
        ?.conditions;
      if (!conditions?.some((c) => c.type === "Established" && c.status === "True")) {
        throw new Error("CRD not established yet");
      }
    });
    await createNamespace(client, operatorNamespace);
  } catch (error) {
    await client.close();
    await server.stop();
    throw error;
  }
  return {
    server,
    kubeConfig,
    client,
    startOperator(options = {}) {
      const operator = createRegistryMirrorOperator({
        kubeConfig,
        namespace: operatorNamespace,
        image: "registry.example/regmirror-operator:test",
        cacheImage: "registry.example/regmirror-cache:test",
        identity: `operator-${operators.length + 1}`,
        leaderElection: false,
        nodeCleanupTimeoutMs: 60_000,
        ...options,
      });
      operators.push(operator);
      operator.start();
      return operator;
    },
    tableOf(path) {
      return getWithAccept(
        server,
        path,
        "application/json;as=Table;v=v1;g=meta.k8s.io",
      ) as Promise<ApiTable>;
    },
    async stop() {
      await Promise.allSettled(operators.map((operator) => operator.close()));
      await client.close();
      await server.stop();
    },
  };
}

/** A GET with an Accept header of our choosing, as JSON. */
function getWithAccept(server: KubeApiServer, path: string, accept: string): Promise<unknown> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      { ca: server.ca, headers: { accept, authorization: `Bearer ${server.token}` } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()));
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on("error", reject);
    request.end();
  });
}

export { type CapturedLog, capturingLogger } from "@regmirror/core/testing";
export { eventually } from "@regmirror/test-kit";

export async function createNamespace(client: KubernetesClient, name: string): Promise<void> {
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

export const mirrorApi = { apiVersion: "regmirror.dev/v1alpha1", kind: "RegistryMirror" } as const;

export function get(client: KubernetesClient, kind: string, name: string): Promise<KubeObject> {
  const apiVersion =
    kind === "StatefulSet" || kind === "Deployment" || kind === "DaemonSet"
      ? "apps/v1"
      : kind === "Ingress"
        ? "networking.k8s.io/v1"
        : kind === "Role" || kind === "RoleBinding"
          ? "rbac.authorization.k8s.io/v1"
          : "v1";
  return client.get({ apiVersion, kind, namespace: operatorNamespace, name });
}

/** What a peered cache pod (replicas > 1) adds to its config file from its environment. */
export const peerPodEnvironment = {
  REGISTRY_REGMIRROR_PEERS_SELFADDRESS: "10.1.0.7",
  REGISTRY_REGMIRROR_PEERS_SECRET: "a-secret-of-at-least-32-characters!",
};

export function getMirror(client: KubernetesClient, name: string): Promise<KubeObject> {
  return client.get({ ...mirrorApi, name });
}

export function conditionOf(
  mirror: KubeObject,
  type: string,
): { status: string; reason: string; message: string } | undefined {
  const conditions = (
    mirror.status as {
      conditions?: { type: string; status: string; reason: string; message: string }[];
    }
  )?.conditions;
  return conditions?.find((condition) => condition.type === type);
}

/**
 * Pretends to be the StatefulSet / DaemonSet controller and kubelet, which do not run here: the
 * tests that need readiness write the status those would write, and say so in their names.
 */
export async function patchWorkloadReady(
  client: KubernetesClient,
  kind: "StatefulSet" | "Deployment",
  name: string,
  replicas: number,
): Promise<void> {
  const current = await get(client, kind, name);
  await client.patch(
    { apiVersion: "apps/v1", kind, namespace: operatorNamespace, name },
    {
      status: {
        observedGeneration: current.metadata?.generation,
        replicas,
        readyReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
        currentReplicas: replicas,
      },
    },
    "application/merge-patch+json",
    { subresource: "status" },
  );
}

export async function patchDaemonSetRolledOut(
  client: KubernetesClient,
  name: string,
  nodes: number,
): Promise<void> {
  const current = await get(client, "DaemonSet", name);
  await client.patch(
    { apiVersion: "apps/v1", kind: "DaemonSet", namespace: operatorNamespace, name },
    {
      status: {
        observedGeneration: current.metadata?.generation,
        currentNumberScheduled: nodes,
        desiredNumberScheduled: nodes,
        numberMisscheduled: 0,
        numberReady: nodes,
        updatedNumberScheduled: nodes,
        numberAvailable: nodes,
      },
    },
    "application/merge-patch+json",
    { subresource: "status" },
  );
}

/** API objects as the tests read them: deep, loosely typed JSON. */
// biome-ignore lint/suspicious/noExplicitAny: assertions on server answers, checked by expect.
export type Json = any;
