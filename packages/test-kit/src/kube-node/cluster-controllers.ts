// kube-controller-manager and kube-scheduler, on the machine's loopback next to the API server:
// they only talk to it. Each serves /healthz on a free port of 127.0.0.1.
import { freePort } from "../free-port.js";
import { startTrackedProcess, type TrackedProcess } from "../processes.js";
import { toolPath } from "../tool-path.js";

export interface ClusterController {
  process: TrackedProcess;
  /** `https://127.0.0.1:PORT/healthz` (self-signed certificate). */
  healthUrl: string;
}

async function startController(
  command: "kube-controller-manager" | "kube-scheduler",
  kubeconfigPath: string,
  extraArgs: string[],
): Promise<ClusterController> {
  const port = await freePort();
  const process = startTrackedProcess({
    name: command,
    command: toolPath(command),
    args: [
      `--kubeconfig=${kubeconfigPath}`,
      // One of each: nothing to elect, and no Lease writes every two seconds.
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      "--v=1",
      ...extraArgs,
    ],
  });
  return { process, healthUrl: `https://127.0.0.1:${port}/healthz` };
}

export function startControllerManager(kubeconfigPath: string): Promise<ClusterController> {
  // The default controllers: Deployments, StatefulSets, DaemonSets, garbage collection,
  // ServiceAccounts, EndpointSlices, the kube-root-ca.crt ConfigMaps (CA from the kubeconfig).
  return startController("kube-controller-manager", kubeconfigPath, []);
}

export function startScheduler(kubeconfigPath: string): Promise<ClusterController> {
  return startController("kube-scheduler", kubeconfigPath, []);
}
