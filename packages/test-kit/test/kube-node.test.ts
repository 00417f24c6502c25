import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../src/eventually.js";
import { machineLockPath } from "../src/kube-node/machine-lock.js";
import { podCgroupsExist } from "../src/kube-node/node-cgroups.js";
import { type KubeNode, startKubeNode } from "../src/kube-node/start-kube-node.js";
import { findBinary } from "../src/processes.js";
import { pushTestImage } from "../src/skopeo.js";
import { buildTestImage } from "../src/test-image.js";

const kernelSettings = ["vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"];
const readKernelSettings = () =>
  kernelSettings.map((setting) => readFileSync(`/proc/sys/${setting}`, "utf8"));
/** The machine's iptables rules, without iptables-save's dated comment lines. */
const machineIptables = () =>
  execFileSync("iptables-save", { encoding: "utf8" })
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("\n");

describe("startKubeNode: a one-node cluster from real binaries", () => {
  let node: KubeNode;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const kernelBefore = readKernelSettings();
  const iptablesBefore = machineIptables();

  beforeAll(async () => {
    node = await startKubeNode({ log: (line) => console.log(line) });
    const memory = node.memoryUsage();
    console.log(
      `kube node: started in ${(node.startMs / 1000).toFixed(1)} s; daemons resident ${(memory.totalBytes / 2 ** 20).toFixed(0)} MiB`,
      Object.fromEntries(
        Object.entries(memory.processes).map(([name, bytes]) => [
          name,
          `${(bytes / 2 ** 20).toFixed(0)} MiB`,
        ]),
      ),
    );
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromFile(node.apiServer.kubeconfigPath);
    core = kubeconfig.makeApiClient(CoreV1Api);
    apps = kubeconfig.makeApiClient(AppsV1Api);
  }, 600_000);

  afterAll(async () => {
    await node?.stop();
  });

  it("runs a Deployment's pod, pulled from the node's registry, Ready through its exec probe", async () => {
    const image = await buildTestImage({
      seed: "kube-node-workload",
      layers: [4096],
      tag: "v1",
      entrypoint: { path: "/app", program: readFileSync(findBinary("catatonit")), args: ["-P"] },
    });
    const reference = await pushTestImage(image, node.imageRegistry, "kit/workload");
    await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "workload" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "workload" } },
          template: {
            metadata: { labels: { app: "workload" } },
            spec: {
              containers: [
                {
                  name: "app",
                  image: reference,
                  // catatonit -V prints its version and exits 0: a real probe run in the container.
                  readinessProbe: { exec: { command: ["/app", "-V"] }, periodSeconds: 2 },
                },
              ],
            },
          },
        },
      },
    });
    const pod = await eventually(async () => {
      const pods = await core.listNamespacedPod({
        namespace: "default",
        labelSelector: "app=workload",
      });
      const ready = pods.items.find((item) =>
        item.status?.conditions?.some(
          (condition) => condition.type === "Ready" && condition.status === "True",
        ),
      );
      if (ready === undefined)
        throw new Error(
          `no Ready pod yet: ${JSON.stringify(pods.items.map((item) => item.status))}`,
        );
      return ready;
    }, 120_000);
    expect(pod.spec?.nodeName).toBe(node.nodeName);
    expect(pod.status?.podIP).toMatch(/^10\.244\.0\.\d+$/);
    expect(pod.status?.containerStatuses?.[0]?.imageID).toContain(image.digest);
  }, 180_000);

  it("stop() leaves no process, cgroup, lock or kernel setting behind, and never touched the machine's iptables", async () => {
    expect(node.nodeProcesses().length).toBeGreaterThan(3);
    const directory = node.machinePath("/var/lib");
    expect(podCgroupsExist()).toBe(true);
    await node.stop();
    expect(node.nodeProcesses()).toEqual([]);
    expect(podCgroupsExist()).toBe(false);
    expect(existsSync(directory)).toBe(false);
    expect(existsSync(machineLockPath)).toBe(false);
    expect(readKernelSettings()).toEqual(kernelBefore);
    expect(machineIptables()).toBe(iptablesBefore);
  });
});
