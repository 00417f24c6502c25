import { KubeConfig } from "@kubernetes/client-node";
import { type KubeApiServer, startKubeApiServer } from "@regmirror/test-kit";
import { createKubernetesClient, type KubeObject, type KubernetesClient } from "../src/index.js";

export interface TestCluster {
  server: KubeApiServer;
  kubeConfig: KubeConfig;
  /** A client for the test's own setup and checks (the code under test gets its own). */
  client: KubernetesClient;
  /** Clients made with `newClient()` are closed by `stop()`. */
  newClient(): KubernetesClient;
  stop(): Promise<void>;
}

/**
 * Starts etcd + kube-apiserver (the real ones, from the test kit) and makes clients for it;
 * with `namespace`, also creates that namespace (one per test file keeps files apart).
 */
export async function startTestCluster(options: { namespace?: string } = {}): Promise<TestCluster> {
  const server = await startKubeApiServer();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(server.kubeconfigPath);
  const clients: KubernetesClient[] = [];
  const newClient = (): KubernetesClient => {
    const made = createKubernetesClient({ kubeConfig });
    clients.push(made);
    return made;
  };
  const cluster: TestCluster = {
    server,
    kubeConfig,
    client: newClient(),
    newClient,
    async stop() {
      await Promise.all(clients.map((client) => client.close()));
      await server.stop();
    },
  };
  try {
    if (options.namespace !== undefined) await createNamespace(cluster.client, options.namespace);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** A ConfigMap in `namespace`, the object most of these tests watch and apply. */
export function configMapIn(
  namespace: string,
  name: string,
  data: Record<string, string> = {},
  labels?: Record<string, string>,
): KubeObject {
  const metadata = labels === undefined ? { name, namespace } : { name, namespace, labels };
  return { apiVersion: "v1", kind: "ConfigMap", metadata, data };
}

export { type CapturedLog, capturingLogger } from "@regmirror/core/testing";
export { eventually } from "@regmirror/test-kit";

/** A namespace per test file keeps files apart when they share nothing else. */
export async function createNamespace(client: KubernetesClient, name: string): Promise<void> {
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
}
