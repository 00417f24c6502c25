// kube-controller-manager and kube-scheduler, on the machine's loopback next to the API server:
// they only talk to it. Each serves /healthz on a free port of 127.0.0.1, proven its own by
// answering; when another process took the port first, it is started again on a new one.
import type { Logger } from "@regmirror/core";
import { Agent, fetch } from "undici";
import { freePort, retryOnAddressInUse } from "../free-port.js";
import { kitLogger } from "../kit-logger.js";
import { startTrackedProcess, type TrackedProcess, waitUntilReady } from "../processes.js";
import { toolPath } from "../tool-path.js";

export interface ClusterController {
  process: TrackedProcess;
  /** `https://127.0.0.1:PORT/healthz` (self-signed certificate). */
  healthUrl: string;
}

export interface ClusterControllerOptions {
  /** How long it may take to answer /healthz; default 180 s. */
  timeoutMs?: number;
  /** Where a start again on a new port is told; default the kit's log. */
  logger?: Logger;
}

async function startControllerOn(
  port: number,
  command: "kube-controller-manager" | "kube-scheduler",
  kubeconfigPath: string,
  timeoutMs: number,
): Promise<ClusterController> {
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
    ],
  });
  const healthUrl = `https://127.0.0.1:${port}/healthz`;
  const selfSigned = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    // A process that lost its port exits ("bind: address already in use"): its output is the
    // error retryOnAddressInUse looks for. One that answers /healthz holds the port.
    await waitUntilReady(
      command,
      async () => (await fetch(healthUrl, { dispatcher: selfSigned })).status === 200,
      { process, timeoutMs },
    );
    return { process, healthUrl };
  } catch (error) {
    await process.stop();
    throw error;
  } finally {
    await selfSigned.close();
  }
}

function startController(
  command: "kube-controller-manager" | "kube-scheduler",
  kubeconfigPath: string,
  options: ClusterControllerOptions,
): Promise<ClusterController> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  return retryOnAddressInUse(
    command,
    async () => startControllerOn(await freePort(), command, kubeconfigPath, timeoutMs),
    { logger: options.logger ?? kitLogger },
  );
}

export function startControllerManager(
  kubeconfigPath: string,
  options: ClusterControllerOptions = {},
): Promise<ClusterController> {
  // The default controllers: Deployments, StatefulSets, DaemonSets, garbage collection,
  // ServiceAccounts, EndpointSlices, the kube-root-ca.crt ConfigMaps (CA from the kubeconfig).
  return startController("kube-controller-manager", kubeconfigPath, options);
}

export function startScheduler(
  kubeconfigPath: string,
  options: ClusterControllerOptions = {},
): Promise<ClusterController> {
  return startController("kube-scheduler", kubeconfigPath, options);
}
