import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOnLoopback } from "../src/free-port.js";
import { acquireMachineLock } from "../src/kube-node/machine-lock.js";
import {
  createNodeNamespaces,
  type NodeNamespaces,
  processesInMountNamespace,
} from "../src/kube-node/node-namespaces.js";
import { type PortBridge, startPortBridge } from "../src/kube-node/port-bridge.js";
import { makeTempDirectory, removeTempDirectory } from "../src/temp-directory.js";

// The pieces of startKubeNode that need no kubelet: the node's namespaces, the port bridge
// between them and the machine, and the one-node-per-machine lock.
describe("the node's namespaces and the port bridge", () => {
  let directory: string;
  let namespaces: NodeNamespaces;
  let bridge: PortBridge;
  const panicBefore = readFileSync("/proc/sys/kernel/panic", "utf8");
  const machineAddresses = () => execFileSync("ip", ["-brief", "address"], { encoding: "utf8" });
  const addressesBefore = machineAddresses();

  beforeAll(async () => {
    directory = makeTempDirectory("node-namespaces-test-");
    namespaces = await createNodeNamespaces({
      directory,
      nodeAddress: "10.250.0.1",
      privateDirectories: ["/etc/containerd", "/var/lib"],
      kernelSettings: { "kernel/panic": 10 },
    });
    bridge = await startPortBridge(namespaces, directory);
  });

  afterAll(async () => {
    await bridge?.stop();
    await namespaces?.stop();
    await removeTempDirectory(directory);
  });

  it("gives the node its own address, directories and view of a kernel setting; the machine keeps its own", async () => {
    expect((await namespaces.run("ip", ["-brief", "address"])).stdout).toContain("10.250.0.1/32");
    expect(machineAddresses()).toBe(addressesBefore);
    writeFileSync(namespaces.machinePath("/var/lib/written-by-node"), "node");
    expect((await namespaces.run("cat", ["/var/lib/written-by-node"])).stdout).toBe("node");
    expect(existsSync("/var/lib/written-by-node")).toBe(false);
    expect((await namespaces.run("cat", ["/proc/sys/kernel/panic"])).stdout.trim()).toBe("10");
    expect(readFileSync("/proc/sys/kernel/panic", "utf8")).toBe(panicBefore);
  });

  it("a machine port answers inside the node at the node address; a node address answers on the machine", async () => {
    const machineServer = createServer((_request, response) => response.end("machine"));
    const machinePort = await listenOnLoopback(machineServer);
    await bridge.exposeMachinePort(machinePort);
    const fromNode = await namespaces.run(process.execPath, [
      "-e",
      `fetch("http://10.250.0.1:${machinePort}/").then((r) => r.text()).then(console.log)`,
    ]);
    expect(fromNode.stdout.trim()).toBe("machine");

    const nodeServer = namespaces.start({
      name: "server in the node",
      command: process.execPath,
      args: [
        "-e",
        `require("node:http").createServer((q, s) => s.end("node")).listen(7777, "10.250.0.1", () => console.log("listening"))`,
      ],
    });
    try {
      const authority = await bridge.reachNodeAddress("10.250.0.1", 7777);
      let answer = "";
      for (let attempt = 0; attempt < 100 && answer === ""; attempt += 1) {
        if (!nodeServer.output().includes("listening")) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        answer = await (await fetch(`http://${authority}/`)).text();
      }
      expect(answer).toBe("node");
    } finally {
      await nodeServer.stop();
      machineServer.close();
    }
  });

  it("stop() ends every process of the node and its mounts", async () => {
    const mountNamespace = namespaces.mountNamespace;
    expect(processesInMountNamespace(mountNamespace).length).toBeGreaterThan(0);
    await bridge.stop();
    await namespaces.stop();
    expect(processesInMountNamespace(mountNamespace)).toEqual([]);
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(directory);
  });
});

describe("one node per machine", () => {
  it("a second holder waits until the first releases; the lock of a process that is gone is taken over", async () => {
    // Its own lock file: a node of another test file may hold the real one.
    const path = join(makeTempDirectory("machine-lock-test-"), "node.lock");
    const release = await acquireMachineLock({ path, timeoutMs: 5_000, onWait: () => undefined });
    let waited = "";
    const second = acquireMachineLock({
      path,
      timeoutMs: 10_000,
      onWait: (message) => {
        waited = message;
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(waited).toContain(`process ${process.pid}`);
    release();
    const releaseSecond = await second;
    releaseSecond();

    writeFileSync(path, "2147483646\n"); // no such process
    const releaseThird = await acquireMachineLock({
      path,
      timeoutMs: 2_000,
      onWait: () => undefined,
    });
    expect(readFileSync(path, "utf8").trim()).toBe(String(process.pid));
    releaseThird();
    expect(existsSync(path)).toBe(false);
  });
});
