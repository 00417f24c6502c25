// A one-node Kubernetes cluster from real binaries (docs/adr/0023): etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler on the machine's loopback; containerd (CRI),
// kubelet and kube-proxy in the node's own network and mount namespaces, with a bridge pod
// network there. Started in parallel where the order allows; stop() leaves nothing behind.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { registerExitCleanup } from "@regmirror/envtest";
import { Agent, fetch } from "undici";
import { type CertificateAuthority, makeCertificateAuthority } from "../certificates.js";
import { TestKitError } from "../errors.js";
import { type KubeApiServer, startKubeApiServer } from "../kube-api-server.js";
import {
  type CommandResult,
  findBinary,
  type TrackedProcess,
  waitUntilReady,
} from "../processes.js";
import { pushTestImage } from "../skopeo.js";
import { makeTempDirectory, removeTempDirectory } from "../temp-directory.js";
import { buildTestImage } from "../test-image.js";
import { startUpstreamRegistry, type UpstreamRegistry } from "../upstream-registry.js";
import {
  type ClusterController,
  startControllerManager,
  startScheduler,
} from "./cluster-controllers.js";
import { kubeProxyHealthPort, startKubeProxy } from "./kube-proxy.js";
import { startKubelet } from "./kubelet.js";
import { acquireMachineLock } from "./machine-lock.js";
import { podCgroupsExist, podProcesses, removePodCgroups } from "./node-cgroups.js";
import { nodeCertsDirectory, podBridgeName, startNodeContainerd } from "./node-containerd.js";
import {
  createNodeNamespaces,
  type NodeNamespaces,
  processesInMountNamespace,
} from "./node-namespaces.js";
import { type PortBridge, startPortBridge } from "./port-bridge.js";

/** The node's address inside its namespace, its pods' subnet (no machine address is used). */
export const kubeNodeAddress = "10.250.0.1";
export const kubeNodePodSubnet = "10.244.0.0/24";
export const kubeNodeName = "regmirror-node";
/** The API server's --service-cluster-ip-range (@regmirror/envtest's): where ClusterIPs are. */
const serviceClusterIpRange = "10.0.0.0/24";
/** The bridge's address: the pod subnet's first, the gateway the bridge CNI plugin gives pods. */
const podGateway = "10.244.0.1/24";

/**
 * Machine-wide kernel settings the kubelet insists on (it writes them otherwise). The node sees
 * these values; the machine keeps its own (kernel.panic_on_oops=1 would reboot a shared machine
 * on any kernel oops).
 */
const kubeletKernelSettings: Record<string, number> = {
  "vm/overcommit_memory": 1,
  "vm/panic_on_oom": 0,
  "kernel/panic": 10,
  "kernel/panic_on_oops": 1,
  "kernel/keys/root_maxkeys": 1_000_000,
  "kernel/keys/root_maxbytes": 25_000_000,
};

/** Machine directories the node sees as its own (empty at start, gone with the node). */
const nodePrivateDirectories = ["/etc/containerd", "/var/lib", "/var/log", "/run"];

export interface KubeNodeOptions {
  /** How long to wait for each part to be ready; default 180 s (2 shared cores are slow). */
  timeoutMs?: number;
  /** How long to wait for another test's node to stop first; default 15 min. */
  lockTimeoutMs?: number;
  /** Progress lines (start phases, waiting for the lock); default none. */
  log?: (message: string) => void;
}

export interface KubeNodeMemory {
  /** Resident memory of each daemon of the cluster, in bytes. */
  processes: Record<string, number>;
  totalBytes: number;
}

export interface KubeNode {
  apiServer: KubeApiServer;
  nodeName: string;
  /**
   * The node's address. Pods and the node's containerd reach a machine port exposed with
   * `exposeMachinePort` at `nodeAddress:PORT`: name registries that pods use so.
   */
  nodeAddress: string;
  /**
   * A docker-registry for the images pods run (e.g. the operator's): push to `imageRegistry.host`
   * (`127.0.0.1:PORT`); the node pulls the same names, over plain http as loopback allows.
   */
  imageRegistry: UpstreamRegistry;
  /** A CA the node's containerd trusts (as a company CA on real nodes): issue test servers' certificates from it. */
  trustedCa: CertificateAuthority;
  /** The containerd registry configuration directory of the node (CRI `config_path`). */
  certsDirectory: string;
  /** Makes the machine's 127.0.0.1:port reachable in the node at `nodeAddress:port`; returns that. */
  exposeMachinePort(port: number): Promise<string>;
  /** Makes `host:port` inside the node (a pod's address) reachable at the returned `127.0.0.1:PORT`. */
  reachNodeAddress(host: string, port: number): Promise<string>;
  /** Runs a command inside the node (e.g. `ctr` against its containerd) to completion. */
  run(command: string, args: string[]): Promise<CommandResult>;
  /** Where a path of the node (under /etc/containerd, /var/lib, /var/log or /run) is on the machine. */
  machinePath(nodePath: string): string;
  /** How long start took, in ms. */
  startMs: number;
  /** Resident memory of the cluster's daemons now. */
  memoryUsage(): KubeNodeMemory;
  /** PIDs of the processes in the node's mount namespace (its daemons and shims; none after stop). */
  nodeProcesses(): number[];
  /** Stops everything: pods, daemons, namespaces, cgroups, files; idempotent. */
  stop(): Promise<void>;
}

function residentBytes(pid: number): number {
  try {
    const kilobytes = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kilobytes === undefined ? 0 : Number(kilobytes) * 1024;
  } catch {
    return 0;
  }
}

/** Debian's static catatonit in pause mode (`-P`): the sandbox every pod keeps its namespaces in. */
function pauseProgram(): Buffer {
  return readFileSync(findBinary("catatonit"));
}

/**
 * Starts the cluster; call `stop()` in afterAll. Needs root. One node runs per machine: a second
 * call (another test file or workspace) waits for the first node to stop.
 */
export async function startKubeNode(options: KubeNodeOptions = {}): Promise<KubeNode> {
  if (process.getuid?.() !== 0) {
    throw new TestKitError("BAD_INPUT", "startKubeNode needs root (namespaces, mounts, cgroups)");
  }
  const timeoutMs = options.timeoutMs ?? 180_000;
  const log = options.log ?? (() => undefined);
  const releaseLock = await acquireMachineLock({
    timeoutMs: options.lockTimeoutMs ?? 15 * 60_000,
    onWait: log,
  });
  const started = Date.now();
  const phase = (message: string) =>
    log(`[kube node ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

  const cleanups: (() => Promise<void> | void)[] = [releaseLock];
  let stopping: Promise<void> | undefined;
  /** Stops what was started, newest first, once: `stop()` and a failed start share it. */
  const stopAll = () => {
    stopping ??= (async () => {
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          await cleanup();
        } catch {
          // Keep going: the rest must still be stopped.
        }
      }
    })();
    return stopping;
  };
  const daemons: TrackedProcess[] = [];
  const watchedStart = (process: TrackedProcess, stopGraceMs = 5_000) => {
    daemons.push(process);
    cleanups.push(() => process.stop(stopGraceMs));
    return process;
  };

  try {
    // A node that crashed without stop() may have left its pod cgroups: they are ours to remove.
    if (podCgroupsExist()) await removePodCgroups();
    const directory = makeTempDirectory("regmirror-kube-node-");
    cleanups.push(() => removeTempDirectory(directory));
    cleanups.push(() => removePodCgroups());

    phase("starting etcd + kube-apiserver, the node's namespaces and its image registry");
    const [apiServerResult, namespacesResult, registryResult] = await Promise.allSettled([
      startKubeApiServer({ advertiseAddress: kubeNodeAddress, timeoutMs }),
      createNodeNamespaces({
        directory,
        nodeAddress: kubeNodeAddress,
        privateDirectories: nodePrivateDirectories,
        kernelSettings: kubeletKernelSettings,
      }),
      startUpstreamRegistry(),
    ]);
    if (apiServerResult.status === "fulfilled") cleanups.push(() => apiServerResult.value.stop());
    if (registryResult.status === "fulfilled") cleanups.push(() => registryResult.value.stop());
    if (namespacesResult.status === "fulfilled") cleanups.push(() => namespacesResult.value.stop());
    for (const result of [apiServerResult, namespacesResult, registryResult]) {
      if (result.status === "rejected") throw result.reason;
    }
    const apiServer = (apiServerResult as PromiseFulfilledResult<KubeApiServer>).value;
    const namespaces = (namespacesResult as PromiseFulfilledResult<NodeNamespaces>).value;
    // Last resort when the test process ends without stop(): the kit kills the daemons it
    // started, but containerd's shims and the containers would outlive them.
    cleanups.push(
      registerExitCleanup(() => {
        for (const pid of [
          ...processesInMountNamespace(namespaces.mountNamespace),
          ...podProcesses(),
        ]) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // Already gone.
          }
        }
      }),
    );
    const imageRegistry = (registryResult as PromiseFulfilledResult<UpstreamRegistry>).value;

    await routeServicesThroughPodBridge(namespaces);
    const bridge: PortBridge = await startPortBridge(namespaces, directory);
    cleanups.push(() => bridge.stop());
    const apiServerPort = Number(new URL(apiServer.url).port);
    const trustedCa = await makeCertificateAuthority({ commonName: "regmirror test node trust" });
    const caBundle = join(directory, "ca-bundle.pem");
    const systemBundle = "/etc/ssl/certs/ca-certificates.crt";
    writeFileSync(
      caBundle,
      `${existsSync(systemBundle) ? readFileSync(systemBundle, "utf8") : ""}\n${trustedCa.certificatePem}`,
    );

    phase("pushing the pause image; starting containerd");
    const pauseImage = await buildTestImage({
      seed: "regmirror-node-pause",
      layers: [],
      tag: "1",
      entrypoint: { path: "/pause", program: pauseProgram(), args: ["-P"] },
    });
    const [sandboxImage] = await Promise.all([
      pushTestImage(pauseImage, imageRegistry, "regmirror-node/pause"),
      bridge.exposeMachinePort(apiServerPort),
      bridge.exposeMachinePort(imageRegistry.port),
    ]);
    watchedStart(
      await startNodeContainerd(
        { namespaces, sandboxImage, podSubnet: kubeNodePodSubnet, extraCaFile: caBundle },
        directory,
      ),
    );

    phase("starting kubelet, kube-proxy, kube-controller-manager and kube-scheduler");
    const kubeconfigPath = apiServer.kubeconfigPath;
    watchedStart(
      startKubelet(
        { namespaces, nodeName: kubeNodeName, nodeAddress: kubeNodeAddress, kubeconfigPath },
        directory,
      ),
      10_000,
    );
    watchedStart(
      startKubeProxy(
        { namespaces, nodeName: kubeNodeName, podSubnet: kubeNodePodSubnet, kubeconfigPath },
        directory,
      ),
    );
    // Each answers /healthz before it counts as started (a port taken first: started again on
    // another), and is stopped with the node as soon as it runs, even if the other fails.
    const controllers: ClusterController[] = await Promise.all(
      [
        startControllerManager(kubeconfigPath, { timeoutMs }),
        startScheduler(kubeconfigPath, { timeoutMs }),
      ].map(async (starting) => {
        const controller = await starting;
        watchedStart(controller.process);
        return controller;
      }),
    );

    await waitForCluster(apiServer, bridge, controllers, daemons, timeoutMs);
    const startMs = Date.now() - started;
    phase(`ready in ${(startMs / 1000).toFixed(1)} s`);

    return {
      apiServer,
      nodeName: kubeNodeName,
      nodeAddress: kubeNodeAddress,
      imageRegistry,
      trustedCa,
      certsDirectory: nodeCertsDirectory,
      async exposeMachinePort(port) {
        await bridge.exposeMachinePort(port);
        return `${kubeNodeAddress}:${port}`;
      },
      reachNodeAddress: (host, port) => bridge.reachNodeAddress(host, port),
      machinePath: (nodePath) => namespaces.machinePath(nodePath),
      run: (command, args) => namespaces.run(command, args),
      startMs,
      memoryUsage() {
        const processes: Record<string, number> = {};
        const { etcd, kubeApiServer } = apiServer.processIds();
        processes.etcd = residentBytes(etcd);
        processes["kube-apiserver"] = residentBytes(kubeApiServer);
        for (const daemon of daemons) processes[daemon.name] = residentBytes(daemon.pid);
        const totalBytes = Object.values(processes).reduce((sum, bytes) => sum + bytes, 0);
        return { processes, totalBytes };
      },
      nodeProcesses: () => processesInMountNamespace(namespaces.mountNamespace),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * The node's own processes (containerd pulling from a Service's ClusterIP) need a route to the
 * Service range before kube-proxy's iptables rules can rewrite the address; a real node's
 * default route gives one. Here it goes to the pod bridge, made now (the bridge CNI plugin takes
 * it over as it is) so the route has a device from the start.
 */
async function routeServicesThroughPodBridge(namespaces: NodeNamespaces): Promise<void> {
  await namespaces.run("ip", ["link", "add", podBridgeName, "type", "bridge"]);
  await namespaces.run("ip", ["address", "add", podGateway, "dev", podBridgeName]);
  await namespaces.run("ip", ["link", "set", podBridgeName, "up"]);
  await namespaces.run("ip", ["route", "add", serviceClusterIpRange, "dev", podBridgeName]);
}

/** Ready: the node reports Ready, kube-proxy has its rules, the controllers answer /healthz. */
async function waitForCluster(
  apiServer: KubeApiServer,
  bridge: PortBridge,
  controllers: ClusterController[],
  daemons: TrackedProcess[],
  timeoutMs: number,
): Promise<void> {
  const apiAgent = new Agent({ connect: { ca: apiServer.ca } });
  // The controllers serve /healthz with a self-signed certificate on loopback.
  const selfSignedAgent = new Agent({ connect: { rejectUnauthorized: false } });
  const [kubelet] = daemons.filter((daemon) => daemon.name === "kubelet");
  try {
    await waitUntilReady(
      `node ${kubeNodeName} Ready`,
      async () => {
        const response = await fetch(`${apiServer.url}/api/v1/nodes/${kubeNodeName}`, {
          headers: { authorization: `Bearer ${apiServer.token}` },
          dispatcher: apiAgent,
        });
        if (response.status !== 200) return false;
        const node = (await response.json()) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        return (node.status?.conditions ?? []).some(
          (condition) => condition.type === "Ready" && condition.status === "True",
        );
      },
      { process: kubelet, timeoutMs },
    );
    const kubeProxyHealth = await bridge.reachNodeAddress("127.0.0.1", kubeProxyHealthPort);
    for (const daemon of daemons) {
      if (daemon.exitCode() !== undefined) {
        throw new TestKitError(
          "PROCESS_EXITED",
          `${daemon.name} exited with code ${daemon.exitCode()}:\n${daemon.output().trim()}`,
        );
      }
    }
    const [kubeProxy] = daemons.filter((daemon) => daemon.name === "kube-proxy");
    await waitUntilReady(
      "kube-proxy's rules",
      async () => (await fetch(`http://${kubeProxyHealth}/healthz`)).status === 200,
      { process: kubeProxy, timeoutMs },
    );
    for (const controller of controllers) {
      await waitUntilReady(
        controller.process.name,
        async () =>
          (await fetch(controller.healthUrl, { dispatcher: selfSignedAgent })).status === 200,
        { process: controller.process, timeoutMs },
      );
    }
  } finally {
    await apiAgent.close();
    await selfSignedAgent.close();
  }
}
