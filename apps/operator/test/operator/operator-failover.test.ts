// Operator processes coming and going, and an API server that restarts: leader election on a
// real Lease, watches that recover, a node cleanup that never finishes, and a controller stuck
// behind an API server that does not answer (a fault proxy, the one fake here) failing /healthz.
import { KubeConfig } from "@kubernetes/client-node";
import { systemClock } from "@regmirror/core";
import { createEventRecorder, type Informer, type KubeObject } from "@regmirror/k8s-reconciler";
import { kubeConfigThroughProxy, startFaultProxy } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOwnedInformers } from "../../src/operator/kube/owned-objects.js";
import { createMirrorReconciler } from "../../src/operator/reconcile/reconcile-mirror.js";
import {
  capturingLogger,
  conditionOf,
  eventually,
  get,
  getMirror,
  mirrorApi,
  type OperatorCluster,
  operatorNamespace,
  startOperatorCluster,
} from "./operator-cluster.js";

let cluster: OperatorCluster;

beforeAll(async () => {
  cluster = await startOperatorCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

// Short, so a takeover happens within seconds.
const shortLease = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

function createMirror(name: string, spec: Record<string, unknown> = {}): Promise<KubeObject> {
  return cluster.client.create({
    ...mirrorApi,
    metadata: { name },
    spec: { upstreamUrl: "https://ghcr.io", mirrorOf: [`${name}.example.com`], ...spec },
  });
}

const reconciledBy = (logger: ReturnType<typeof capturingLogger>, mirror: string) =>
  logger.entries.some((entry) => entry.message === "reconciled" && entry.fields.key === mirror);

describe("operator processes", () => {
  it("reconcile only while leading; a standby takes over when the leader's lease expires", async () => {
    const firstLog = capturingLogger();
    const secondLog = capturingLogger();
    const first = cluster.startOperator({
      identity: "first",
      leaderElection: { ...shortLease, releaseOnClose: false },
      logger: firstLog,
    });
    await first.whenReconciling();
    const second = cluster.startOperator({
      identity: "second",
      leaderElection: shortLease,
      logger: secondLog,
    });
    await createMirror("before-failover");
    await eventually(() =>
      get(cluster.client, "DaemonSet", "regmirror-before-failover-node-agent"),
    );
    await eventually(() => expect(reconciledBy(firstLog, "before-failover")).toBe(true));
    expect(first.isLeader()).toBe(true);
    expect(second.isLeader()).toBe(false);
    expect(secondLog.entries.filter((entry) => entry.message === "reconciled")).toEqual([]);

    // The leader stops without giving the lease up, as a crashed process would.
    await first.close();
    await createMirror("after-failover");
    await second.whenReconciling();
    await eventually(() => get(cluster.client, "DaemonSet", "regmirror-after-failover-node-agent"));
    // "reconciled" is logged after the status write that follows the DaemonSet's creation.
    await eventually(() => expect(reconciledBy(secondLog, "after-failover")).toBe(true));
    expect(reconciledBy(firstLog, "after-failover")).toBe(false);
    const lease = await cluster.client.get<KubeObject>({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: operatorNamespace,
      name: "regmirror-operator",
    });
    expect((lease.spec as { holderIdentity?: string }).holderIdentity).toBe("second");
    await second.close();
  });

  it("recovers its watches after the API server restarts and reconciles what changed meanwhile", async () => {
    const operator = cluster.startOperator({ identity: "restart", logger: capturingLogger() });
    await operator.whenReconciling();
    await createMirror("restart", { replicas: 1 });
    const service = await eventually(() => get(cluster.client, "Service", "regmirror-restart"));

    await cluster.server.restart();
    // Changed before the operator's watches are back: a deleted Service and a new spec.
    await eventually(() =>
      cluster.client.delete({
        apiVersion: "v1",
        kind: "Service",
        namespace: operatorNamespace,
        name: "regmirror-restart",
      }),
    );
    await cluster.client.patch(
      { ...mirrorApi, name: "restart" },
      { spec: { replicas: 2 } },
      "application/merge-patch+json",
    );
    await eventually(async () => {
      const recreated = await get(cluster.client, "Service", "regmirror-restart");
      expect(recreated.metadata?.uid).not.toBe(service.metadata?.uid);
      const statefulSet = await get(cluster.client, "StatefulSet", "regmirror-restart");
      expect((statefulSet.spec as { replicas: number }).replicas).toBe(2);
    }, 90_000);
    await operator.close();
  });

  it("reports a node cleanup that times out in Degraded and a Warning Event, then lets the mirror go", async () => {
    const logger = capturingLogger();
    const operator = cluster.startOperator({
      identity: "timeout",
      nodeCleanupTimeoutMs: 1_500,
      logger,
    });
    await operator.whenReconciling();
    await createMirror("stuck");
    await eventually(() => get(cluster.client, "DaemonSet", "regmirror-stuck-node-agent"));
    // A finalizer of the test's own keeps the object readable after the operator lets it go.
    await cluster.client.patch(
      { ...mirrorApi, name: "stuck" },
      [{ op: "add", path: "/metadata/finalizers/-", value: "test.regmirror.dev/hold" }],
      "application/json-patch+json",
    );
    await cluster.client.delete({ ...mirrorApi, name: "stuck" });
    // A copy from before the finalization, as an informer's cache may still hold it afterwards.
    const stale = await eventually(async () => {
      const current = await getMirror(cluster.client, "stuck");
      expect(current.metadata?.deletionTimestamp).toBeDefined();
      expect(current.metadata?.finalizers).toContain("regmirror.dev/node-cleanup");
      return current;
    });
    // Nobody reports the DaemonSet's rollout: no kubelet runs here.
    const mirror = await eventually(async () => {
      const current = await getMirror(cluster.client, "stuck");
      expect(current.metadata?.finalizers).toEqual(["test.regmirror.dev/hold"]);
      return current;
    });
    expect(conditionOf(mirror, "Degraded")).toMatchObject({
      status: "True",
      reason: "NodeCleanupTimedOut",
    });
    expect(conditionOf(mirror, "Degraded")?.message).toMatch(
      /timed out after 2s \(the DaemonSet has not reported the uninstall rollout yet\)/,
    );
    const events = await cluster.client.list<KubeObject>("events.k8s.io/v1", "Event", {
      namespace: "default",
    });
    expect(
      events.items.some(
        (event) =>
          event.reason === "NodeCleanupTimedOut" &&
          (event.regarding as { name: string }).name === "stuck",
      ),
    ).toBe(true);
    expect(
      logger.entries.some(
        (entry) => entry.level === "warn" && /node cleanup timed out/.test(entry.message),
      ),
    ).toBe(true);
    await expect(get(cluster.client, "DaemonSet", "regmirror-stuck-node-agent")).rejects.toThrow(
      /404/,
    );
    // Once the operator has looked at the mirror again (a label change is an update), the
    // deletion has been told exactly once: no contradicting NodeCleanupComplete, one log line.
    const reconciles = () =>
      logger.entries.filter(
        (entry) => entry.message === "reconciled" && entry.fields.key === "stuck",
      ).length;
    const count = reconciles();
    await cluster.client.patch(
      { ...mirrorApi, name: "stuck" },
      { metadata: { labels: { looked: "again" } } },
      "application/merge-patch+json",
    );
    await eventually(() => expect(reconciles()).toBeGreaterThan(count));
    const about = (
      await cluster.client.list<KubeObject>("events.k8s.io/v1", "Event", {
        namespace: "default",
      })
    ).items.filter((event) => (event.regarding as { name: string }).name === "stuck");
    expect(
      about
        .filter((event) => event.reason?.toString().startsWith("NodeCleanup"))
        .map((event) => [event.reason, event.series]),
    ).toEqual([["NodeCleanupTimedOut", undefined]]);
    expect(logger.entries.filter((entry) => entry.message === "mirror finalized")).toHaveLength(1);

    // And a reconcile handed the stale copy (a cache that has not seen the finalizer go, the
    // fault injected here) finalizes nothing a second time.
    const staleLogger = capturingLogger();
    const reconcile = createMirrorReconciler({
      client: cluster.client,
      mirrors: { store: { get: () => stale, list: () => [stale] } } as unknown as Informer,
      informers: createOwnedInformers({
        client: cluster.client,
        namespace: operatorNamespace,
        logger: staleLogger,
      }),
      nodes: () => [],
      namespace: operatorNamespace,
      installation: `${operatorNamespace}/regmirror-operator`,
      images: { operator: "registry.example/o:test", cache: "registry.example/c:test" },
      webhookEndpoint: undefined,
      imageswapNamespace: "imageswap-system",
      imageswapConfigMapName: "imageswap-maps",
      nodeCleanupTimeoutMs: 1_500,
      resyncIntervalMs: 600_000,
      events: createEventRecorder({
        client: cluster.client,
        reportingController: "regmirror.dev/test",
        reportingInstance: "stale",
      }),
      appliedVersions: new Map(),
      logger: staleLogger,
      clock: systemClock,
    });
    const result = await reconcile({
      key: "stuck",
      name: "stuck",
      signal: new AbortController().signal,
    });
    expect(result).toBeUndefined();
    expect(staleLogger.entries.filter((entry) => entry.message === "mirror finalized")).toEqual([]);
    const afterStale = (
      await cluster.client.list<KubeObject>("events.k8s.io/v1", "Event", { namespace: "default" })
    ).items.filter(
      (event) =>
        (event.regarding as { name: string }).name === "stuck" &&
        event.reason?.toString().startsWith("NodeCleanup"),
    );
    expect(afterStale.map((event) => event.reason)).toEqual(["NodeCleanupTimedOut"]);
    await cluster.client.patch(
      { ...mirrorApi, name: "stuck" },
      [{ op: "remove", path: "/metadata/finalizers/0" }],
      "application/json-patch+json",
    );
    await operator.close();
  });

  it("fails its health check while the controller is stuck, and passes again when it is not (API server faults from a proxy)", async () => {
    const proxy = await startFaultProxy({ target: cluster.server.url, ca: cluster.server.ca });
    try {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromOptions(kubeConfigThroughProxy(proxy.url, cluster.server.token));
      // Informers that cannot list: never synced.
      proxy.setFault({ status: 503 });
      const operator = cluster.startOperator({
        kubeConfig,
        identity: "stuck-health",
        installation: "health-test",
        stuckAfterMs: 1_000,
        logger: capturingLogger(),
      });
      const unsynced = await eventually(() => {
        const { problems } = operator.status();
        expect(problems.join()).toMatch(/the informers have not synced \d+s after start/);
        return problems;
      });
      expect(unsynced).toHaveLength(1);
      proxy.setFault(undefined);
      await operator.whenReconciling();
      await eventually(() => expect(operator.status().problems).toEqual([]));

      // A reconcile that hangs: its first write (the claim) waits at the proxy.
      proxy.setFault({
        method: "PATCH",
        path: /registrymirrors\/hanging/,
        delayMs: 6_000,
        times: 1,
      });
      await createMirror("hanging");
      await eventually(() =>
        expect(operator.status().problems.join()).toMatch(
          /the reconcile of hanging has been running for \d+s/,
        ),
      );
      // The write goes through in the end; the controller is healthy again.
      await eventually(() => expect(operator.status().problems).toEqual([]), 30_000);
      await eventually(async () => {
        const mirror = await getMirror(cluster.client, "hanging");
        expect(mirror.metadata?.annotations?.["regmirror.dev/owner"]).toBe("health-test");
      });
      await operator.close();
    } finally {
      await proxy.stop();
    }
  });
});
