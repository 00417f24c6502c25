// Finds the cluster as kubectl does ($KUBECONFIG, ~/.kube/config, in-cluster) and checks it.
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { createKubernetesClient } from "@regmirror/k8s-reconciler";

// Finding the cluster the way kubectl does: --kubeconfig, else $KUBECONFIG (several files
// merged), else ~/.kube/config, else the pod's service account. None of them is an error that
// says so, and so is a cluster that does not answer: the operator stops at once instead of
// retrying an unusable address forever.

const serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

export class KubeConfigError extends Error {
  readonly code = "REGMIRROR_OPERATOR_NO_CLUSTER";
}

export interface KubeConfigSource {
  kubeConfig: KubeConfig;
  /** Where it came from, for messages: "--kubeconfig /x", "$KUBECONFIG", "~/.kube/config"... */
  source: string;
}

export function loadKubeConfig(options: {
  kubeconfigFlag: string | undefined;
  environment: Readonly<Record<string, string | undefined>>;
  homeDirectory: string | undefined;
}): KubeConfigSource {
  const { kubeconfigFlag, environment, homeDirectory } = options;
  const kubeConfig = new KubeConfig();
  const load = (file: string, source: string) => {
    try {
      kubeConfig.loadFromFile(file);
    } catch (error) {
      throw new KubeConfigError(
        `cannot read the kubeconfig ${file} (${source}): ${(error as Error).message}`,
      );
    }
  };
  if (kubeconfigFlag) {
    load(kubeconfigFlag, "--kubeconfig");
    return checked({ kubeConfig, source: `--kubeconfig ${kubeconfigFlag}` });
  }
  const fromEnvironment = (environment.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  if (fromEnvironment.length > 0) {
    const [first, ...rest] = fromEnvironment as [string, ...string[]];
    load(first, "$KUBECONFIG");
    for (const file of rest) {
      const more = new KubeConfig();
      try {
        more.loadFromFile(file);
      } catch (error) {
        throw new KubeConfigError(
          `cannot read the kubeconfig ${file} ($KUBECONFIG): ${(error as Error).message}`,
        );
      }
      kubeConfig.mergeConfig(more, true);
    }
    return checked({ kubeConfig, source: `$KUBECONFIG (${fromEnvironment.join(delimiter)})` });
  }
  const home = homeDirectory ? join(homeDirectory, ".kube", "config") : undefined;
  if (home && existsSync(home)) {
    load(home, "~/.kube/config");
    return checked({ kubeConfig, source: home });
  }
  // In a pod: the service account's token and the API server address the kubelet provides
  // (without the address, client-node would try https://undefined:undefined forever).
  if (environment.KUBERNETES_SERVICE_HOST && existsSync(join(serviceAccountDirectory, "token"))) {
    kubeConfig.loadFromCluster();
    return checked({ kubeConfig, source: "the pod's service account" });
  }
  throw new KubeConfigError(
    "no Kubernetes cluster configured: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run the operator in a pod",
  );
}

function checked(found: KubeConfigSource): KubeConfigSource {
  if (!found.kubeConfig.getCurrentCluster()) {
    throw new KubeConfigError(
      `the kubeconfig from ${found.source} has no current context with a cluster (kubectl config use-context NAME)`,
    );
  }
  return found;
}

/** Asks the API server for its version; a clear error when it cannot be reached. */
export async function checkApiServer(found: KubeConfigSource, timeoutMs: number): Promise<string> {
  const client = createKubernetesClient({ kubeConfig: found.kubeConfig });
  const server = found.kubeConfig.getCurrentCluster()?.server ?? "?";
  try {
    const version = await client.api.request<{ gitVersion?: string }>({
      method: "GET",
      path: "/version",
      signal: AbortSignal.timeout(timeoutMs),
    });
    return version.gitVersion ?? "unknown";
  } catch (error) {
    throw new KubeConfigError(
      `cannot reach the Kubernetes API server ${server} (from ${found.source}): ${(error as Error).message}`,
    );
  } finally {
    await client.close();
  }
}
