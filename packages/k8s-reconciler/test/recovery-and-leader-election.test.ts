import { KubeConfig } from "@kubernetes/client-node";
import { kubeConfigThroughProxy, startFaultProxy } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createController,
  createInformer,
  createKubernetesClient,
  createLeaderElector,
  type KubeObject,
  type LeaderElector,
} from "../src/index.js";
import {
  capturingLogger,
  configMapIn,
  eventually,
  startTestCluster,
  type TestCluster,
} from "./support.js";

const namespace = "recovery";
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster({ namespace });
});

afterAll(async () => {
  await cluster?.stop();
});

function configMap(name: string, data: Record<string, string>): KubeObject {
  return configMapIn(namespace, name, data);
}

describe("after an API server restart", () => {
  it("the informer recovers its watch and the controller reconciles what changed meanwhile", async () => {
    await cluster.client.create(configMap("kept", { v: "1" }));
    await cluster.client.create(configMap("changed", { v: "1" }));
    await cluster.client.create(configMap("removed", { v: "1" }));
    const logger = capturingLogger();
    const informer = createInformer({
      client: cluster.newClient(),
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      logger,
      backoff: { initialDelayMs: 200, maxDelayMs: 2_000 },
    });
    const reconciledData = new Map<string, string | undefined>();
    const controller = createController({
      name: "recorder",
      informers: [{ informer }],
      logger,
      reconcile(request) {
        const object = informer.store.get(request.key);
        reconciledData.set(request.name, object ? (object.data as { v: string }).v : "deleted");
        return undefined;
      },
    });
    try {
      await controller.start();
      await eventually(() => expect(reconciledData.get("removed")).toBe("1"));

      await cluster.server.restart();
      // Changed while the informer is still reconnecting (it backs off from 200 ms).
      await cluster.client.apply(configMap("changed", { v: "2" }), {
        fieldManager: "test",
        force: true,
      });
      await cluster.client.delete({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace,
        name: "removed",
      });
      await cluster.client.create(configMap("added", { v: "1" }));

      await eventually(() => {
        expect(reconciledData.get("changed")).toBe("2");
        expect(reconciledData.get("removed")).toBe("deleted");
        expect(reconciledData.get("added")).toBe("1");
      });
      expect(informer.store.keys().sort()).toEqual([
        `${namespace}/added`,
        `${namespace}/changed`,
        `${namespace}/kept`,
      ]);
      // What an operator sees in its logs: the watch broke and was retried, nothing worse.
      expect(
        logger.entries.some((entry) => entry.level === "warn" && entry.message === "watch failed"),
      ).toBe(true);
      expect(logger.entries.filter((entry) => entry.level === "error")).toEqual([]);
    } finally {
      await controller.close();
      await informer.close();
    }
  });
});

describe("leader election", () => {
  const timing = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 };
  const lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace,
    name: "test-controller",
  };

  interface Candidate {
    elector: LeaderElector;
    started: number;
    stopped: number;
  }

  let leadersNow = 0;
  let mostLeadersAtOnce = 0;

  function candidate(identity: string, releaseOnClose: boolean): Candidate {
    const record: Candidate = {
      elector: undefined as unknown as LeaderElector,
      started: 0,
      stopped: 0,
    };
    record.elector = createLeaderElector({
      client: cluster.newClient(),
      namespace,
      name: lease.name,
      identity,
      ...timing,
      releaseOnClose,
      onStartedLeading() {
        record.started += 1;
        leadersNow += 1;
        mostLeadersAtOnce = Math.max(mostLeadersAtOnce, leadersNow);
      },
      onStoppedLeading() {
        record.stopped += 1;
        leadersNow -= 1;
      },
    });
    return record;
  }

  const holder = async (): Promise<string | undefined> =>
    ((await cluster.client.get(lease)).spec as { holderIdentity?: string }).holderIdentity;

  it("lets one candidate lead; another takes over once the first stops renewing", async () => {
    const first = candidate("first", false);
    const second = candidate("second", true);
    try {
      first.elector.start();
      await eventually(() => expect(first.elector.isLeader()).toBe(true));
      second.elector.start();
      // Over two lease durations the leader keeps renewing: the second must not take over.
      for (let check = 0; check < 12; check++) {
        await new Promise((resolve) => setTimeout(resolve, timing.leaseDurationMs / 6));
        expect(second.elector.isLeader()).toBe(false);
        expect(await holder()).toBe("first");
      }

      // The first goes away without releasing (as a crashed process would): the lease expires.
      await first.elector.close();
      expect(first.stopped).toBe(1);
      await eventually(() => expect(second.elector.isLeader()).toBe(true));
      expect(await holder()).toBe("second");
      // One transition from "first" to "second": taken over after expiry, not handed over.
      const spec = (await cluster.client.get(lease)).spec as { leaseTransitions?: number };
      expect(spec.leaseTransitions).toBe(1);
    } finally {
      await first.elector.close();
      await second.elector.close();
    }
    expect(mostLeadersAtOnce).toBe(1);
  });

  it("releases the lease on close so the next candidate does not wait for it to expire", async () => {
    const third = candidate("third", true);
    try {
      third.elector.start();
      // The previous test's second candidate released the lease on close: it is free now.
      await eventually(() => expect(third.elector.isLeader()).toBe(true));
      await third.elector.close();
      expect(third.stopped).toBe(1);
      expect(await holder()).toBe("");
    } finally {
      await third.elector.close();
    }
    expect(mostLeadersAtOnce).toBe(1);
  });

  it("stops leading when it cannot renew, then leads again once it can (fault: a proxy answers 503)", async () => {
    const proxy = await startFaultProxy({ target: cluster.server.url, ca: cluster.server.ca });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions(kubeConfigThroughProxy(proxy.url, cluster.server.token));
    const client = createKubernetesClient({ kubeConfig });
    let started = 0;
    let stopped = 0;
    let leadershipSignal: AbortSignal | undefined;
    const elector = createLeaderElector({
      client,
      namespace,
      name: "cut-off",
      identity: "cut-off-candidate",
      ...timing,
      onStartedLeading(signal) {
        started += 1;
        leadershipSignal = signal;
      },
      onStoppedLeading() {
        stopped += 1;
      },
    });
    try {
      elector.start();
      await eventually(() => expect(elector.isLeader()).toBe(true));
      proxy.setFault({ status: 503 });
      await eventually(() => expect(stopped).toBe(1));
      expect(elector.isLeader()).toBe(false);
      expect(leadershipSignal?.aborted).toBe(true);
      proxy.setFault(undefined);
      await eventually(() => expect(started).toBe(2));
      expect(elector.isLeader()).toBe(true);
    } finally {
      await elector.close();
      await client.close();
      await proxy.stop();
    }
  });
});
