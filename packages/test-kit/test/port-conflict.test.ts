// docker-registry, dnsmasq, etcd, kube-apiserver, kube-scheduler and kube-controller-manager start
// again on new ports when their free port was taken before they bound it.
import { Resolver } from "node:dns/promises";
import { createServer, type Server } from "node:net";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { capturingLogger } from "@regmirror/core/testing";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  listenOnLoopback,
  startDnsServer,
  startKubeApiServer,
  startUpstreamRegistry,
} from "../src/index.js";
import { startControllerManager, startScheduler } from "../src/kube-node/cluster-controllers.js";

/** Ports `freePort()` hands out before it asks the OS again; `null` lets the OS pick that one. */
const handOut = vi.hoisted(() => [] as (number | null)[]);

vi.mock(import("../../envtest/src/loopback.js"), async (importOriginal) => {
  const original = await importOriginal();
  return {
    ...original,
    freePort: async () => handOut.shift() ?? (await original.freePort()),
  };
});

/** The kit logged one start again for each of `servers`, naming the taken port. */
function expectOneRetryEach(
  logger: ReturnType<typeof capturingLogger>,
  takenPort: number,
  servers: string[],
): void {
  expect(logger.entries.map((entry) => entry.fields.server)).toEqual(servers);
  for (const entry of logger.entries) {
    expect(String(entry.fields.error)).toContain(`127.0.0.1:${takenPort}`);
    expect(String(entry.fields.error)).toContain("address already in use");
  }
}

describe("a port taken between the pick and the bind (fault injected: freePort hands out a port the test holds)", () => {
  let occupied: Server;
  let occupiedPort: number;
  beforeAll(async () => {
    // Accepts and drops every connection: nothing that probes it mistakes it for the server.
    occupied = createServer((socket) => socket.destroy());
    occupiedPort = await listenOnLoopback(occupied);
  });
  afterAll(async () => {
    handOut.length = 0;
    await new Promise<void>((resolve) => occupied.close(() => resolve()));
  });

  it("docker-registry starts again on a new port, and says so", async () => {
    handOut.push(occupiedPort);
    const logger = capturingLogger();
    const registry = await startUpstreamRegistry({ logger });
    try {
      expect(registry.port).not.toBe(occupiedPort);
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);
      expect(logger.entries.map((entry) => entry.fields)).toEqual([
        expect.objectContaining({
          server: "docker-registry",
          attempt: 1,
          error: expect.stringContaining("address already in use"),
        }),
      ]);
    } finally {
      await registry.stop();
    }
  });

  it("dnsmasq starts again on a new port, and answers there", async () => {
    handOut.push(occupiedPort);
    const logger = capturingLogger();
    const dns = await startDnsServer({
      domain: "retry.test",
      records: { "a.retry.test": ["10.0.0.1"] },
      logger,
    });
    try {
      expect(dns.address).not.toBe(`127.0.0.1:${occupiedPort}`);
      const resolver = new Resolver();
      resolver.setServers([dns.address]);
      expect(await resolver.resolve4("a.retry.test")).toEqual(["10.0.0.1"]);
      expect(logger.entries.map((entry) => entry.fields)).toEqual([
        expect.objectContaining({
          server: "dnsmasq",
          attempt: 1,
          error: expect.stringMatching(/address already in use/i),
        }),
      ]);
    } finally {
      await dns.stop();
    }
  });

  it("etcd and kube-apiserver each start again on new ports, and the API answers", async () => {
    // etcd's client port, its peer port; etcd again (two); kube-apiserver; kube-apiserver again.
    handOut.push(occupiedPort, null, null, null, occupiedPort);
    const logger = capturingLogger();
    const apiServer = await startKubeApiServer({ logger });
    try {
      expect(apiServer.url).not.toBe(`https://127.0.0.1:${occupiedPort}`);
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(apiServer.kubeconfigPath);
      const namespaces = await kubeConfig.makeApiClient(CoreV1Api).listNamespace();
      expect(namespaces.items.map((namespace) => namespace.metadata?.name)).toContain("default");
      expectOneRetryEach(logger, occupiedPort, ["etcd", "kube-apiserver"]);
    } finally {
      await apiServer.stop();
    }
  });

  it("kube-scheduler and kube-controller-manager each start again on a new port, and answer /healthz", async () => {
    const apiServer = await startKubeApiServer();
    const logger = capturingLogger();
    const selfSigned = new Agent({ connect: { rejectUnauthorized: false } });
    const started = [];
    try {
      for (const start of [startScheduler, startControllerManager]) {
        handOut.push(occupiedPort);
        const controller = await start(apiServer.kubeconfigPath, { logger });
        started.push(controller);
        expect(new URL(controller.healthUrl).port).not.toBe(String(occupiedPort));
        const health = await fetch(controller.healthUrl, { dispatcher: selfSigned });
        expect(health.status).toBe(200);
      }
      expectOneRetryEach(logger, occupiedPort, ["kube-scheduler", "kube-controller-manager"]);
    } finally {
      for (const controller of started) await controller.process.stop();
      await selfSigned.close();
      await apiServer.stop();
    }
  });
});
