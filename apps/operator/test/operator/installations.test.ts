// Two operator installations in one cluster at once, as a user gets them by installing both the
// kustomize base (regmirror-system) and the Helm chart (its own namespace): each mirror has one
// owner, which alone makes its objects and finalizes it; the other leaves it alone and says so.
// Both operators run with their own ServiceAccount's token and their own Lease.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderOperatorMetrics } from "../../src/operator/operator-metrics.js";
import type { RegistryMirrorOperator } from "../../src/operator/registry-mirror-operator.js";
import { applyAll, helmTemplate, kustomizeBase, serviceAccountKubeConfig } from "./deploy-tools.js";
import {
  type CapturedLog,
  capturingLogger,
  conditionOf,
  eventually,
  getMirror,
  type Json,
  mirrorApi,
  type OperatorCluster,
  operatorNamespace,
  startOperatorCluster,
} from "./operator-cluster.js";

const helmNamespace = "regmirror-helm";
const kustomizeInstallation = `${operatorNamespace}/regmirror-operator`;
const helmInstallation = `${helmNamespace}/regmirror-operator`;
const shortLease = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

let cluster: OperatorCluster;
let temporary = "";
const kustomizeLog = capturingLogger();
const helmLog = capturingLogger();
let kustomizeOperator: RegistryMirrorOperator;
let helmOperator: RegistryMirrorOperator;

beforeAll(async () => {
  cluster = await startOperatorCluster();
  temporary = makeTempDirectory("installations-");
  await applyAll(cluster, await kustomizeBase(), "kustomize");
  // The chart installed as a user would next to it: a release in default that makes its own
  // namespace (labelled for the node agents) and runs there.
  const chart = await helmTemplate(temporary, "second", [
    "--namespace",
    "default",
    "--set",
    "namespace.create=true",
    "--set",
    `namespace.name=${helmNamespace}`,
  ]);
  await applyAll(cluster, chart, "helm");
});

afterAll(async () => {
  await cluster?.stop();
  if (temporary) await removeTempDirectory(temporary);
});

function createMirror(name: string, annotations?: Record<string, string>): Promise<KubeObject> {
  return cluster.client.create({
    ...mirrorApi,
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { upstreamUrl: "https://ghcr.io", mirrorOf: [`${name}.example.com`] },
  });
}

/** Every object labelled as this mirror's in a namespace, by kind/name. */
async function objectsOf(mirror: string, namespace: string): Promise<string[]> {
  const found: string[] = [];
  for (const [apiVersion, kind] of [
    ["apps/v1", "StatefulSet"],
    ["apps/v1", "DaemonSet"],
    ["v1", "Service"],
    ["v1", "Secret"],
    ["v1", "ConfigMap"],
  ] as const) {
    const list = await cluster.client.list<KubeObject>(apiVersion, kind, {
      namespace,
      labelSelector: `regmirror.dev/mirror=${mirror}`,
    });
    found.push(...list.items.map((object) => `${kind}/${object.metadata?.name}`));
  }
  return found.sort();
}

const ownerOf = (mirror: KubeObject) => mirror.metadata?.annotations?.["regmirror.dev/owner"];
const namespaceOf = (installation: string) => installation.split("/")[0] ?? "";

describe("two operator installations in one cluster", () => {
  it("give each mirror one owner: its objects exist once, in the owner's namespace", async () => {
    kustomizeOperator = cluster.startOperator({
      kubeConfig: await serviceAccountKubeConfig(cluster, "regmirror-operator", operatorNamespace),
      identity: "kustomize",
      leaderElection: shortLease,
      logger: kustomizeLog,
    });
    await kustomizeOperator.whenReconciling();
    // Created while only the first installation runs: it claims it.
    await createMirror("first");
    await eventually(async () =>
      expect(ownerOf(await getMirror(cluster.client, "first"))).toBe(kustomizeInstallation),
    );
    helmOperator = cluster.startOperator({
      kubeConfig: await serviceAccountKubeConfig(
        cluster,
        "second-regmirror-operator",
        helmNamespace,
      ),
      namespace: helmNamespace,
      identity: "helm",
      leaderElection: shortLease,
      logger: helmLog,
    });
    await helmOperator.whenReconciling();
    // Assigned by the user at creation; and two both installations race for.
    await createMirror("assigned", { "regmirror.dev/owner": helmInstallation });
    await createMirror("raced-a");
    await createMirror("raced-b");

    for (const name of ["first", "assigned", "raced-a", "raced-b"]) {
      const mirror = await eventually(async () => {
        const current = await getMirror(cluster.client, name);
        expect((current.status as Json)?.observedGeneration).toBe(current.metadata?.generation);
        expect(conditionOf(current, "Claimed")?.message).toContain(ownerOf(current));
        return current;
      });
      const owner = ownerOf(mirror) ?? "";
      expect([kustomizeInstallation, helmInstallation]).toContain(owner);
      if (name === "assigned") expect(owner).toBe(helmInstallation);
      const other = owner === kustomizeInstallation ? helmInstallation : kustomizeInstallation;
      await eventually(async () =>
        expect(await objectsOf(name, namespaceOf(owner))).toEqual(
          expect.arrayContaining([
            `DaemonSet/regmirror-${name}-node-agent`,
            `StatefulSet/regmirror-${name}`,
            `Service/regmirror-${name}`,
          ]),
        ),
      );
      expect(await objectsOf(name, namespaceOf(other)), `${name} in ${other}`).toEqual([]);
      // The address is the owner's Service, and stays so while both installations look at it.
      const service = await cluster.client.get<KubeObject>({
        apiVersion: "v1",
        kind: "Service",
        namespace: namespaceOf(owner),
        name: `regmirror-${name}`,
      });
      expect((mirror.status as Json).serviceAddress).toBe(
        `${(service.spec as Json).clusterIP}:443`,
      );
    }
  });

  it("keep the status steady when both look at a mirror again", async () => {
    const before = await getMirror(cluster.client, "assigned");
    const reconciles = (log: typeof kustomizeLog) =>
      log.entries.filter(
        (entry) => entry.message === "reconciled" && entry.fields.key === "assigned",
      ).length;
    const counts = [reconciles(kustomizeLog), reconciles(helmLog)];
    // A label change is an update both installations see.
    await cluster.client.patch(
      { ...mirrorApi, name: "assigned" },
      { metadata: { labels: { touched: "yes" } } },
      "application/merge-patch+json",
    );
    await eventually(() => {
      expect(reconciles(kustomizeLog)).toBeGreaterThan(counts[0] ?? 0);
      expect(reconciles(helmLog)).toBeGreaterThan(counts[1] ?? 0);
    });
    const after = await getMirror(cluster.client, "assigned");
    expect(after.status).toEqual(before.status);
  });

  it("tell the user about the other installation: an Event on the mirror, the log, the metrics", async () => {
    const mirrors = await Promise.all(
      ["first", "assigned", "raced-a", "raced-b"].map((name) => getMirror(cluster.client, name)),
    );
    const events = await eventually(async () => {
      const list = await cluster.client.list<KubeObject>("events.k8s.io/v1", "Event", {
        namespace: "default",
      });
      const ownedElsewhere = list.items.filter(
        (event) => event.reason === "OwnedByAnotherInstallation",
      );
      expect(ownedElsewhere.map((event) => (event.regarding as Json).name).sort()).toEqual(
        ["first", "assigned", "raced-a", "raced-b"].sort(),
      );
      return ownedElsewhere;
    });
    for (const mirror of mirrors) {
      const event = events.find(
        (candidate) => (candidate.regarding as Json).name === mirror.metadata?.name,
      );
      const owner = ownerOf(mirror) ?? "";
      expect(event?.note).toContain(`owned by the regmirror-operator installation ${owner}`);
      expect(event?.type).toBe("Warning");
    }
    const announced = (log: typeof kustomizeLog, other: string) =>
      log.entries.some(
        (entry: CapturedLog) => entry.level === "warn" && entry.fields.otherInstallation === other,
      );
    const owners = new Set(mirrors.map(ownerOf));
    if (owners.has(kustomizeInstallation)) {
      expect(announced(helmLog, kustomizeInstallation)).toBe(true);
    }
    expect(announced(kustomizeLog, helmInstallation)).toBe(true);
    const metrics = renderOperatorMetrics(kustomizeOperator.status());
    expect(metrics).toContain("regmirror_operator_other_installations 1");
    const ownedByHelm = mirrors.filter((mirror) => ownerOf(mirror) === helmInstallation).length;
    expect(metrics).toContain(
      `regmirror_operator_mirrors{owner="${helmInstallation}"} ${ownedByHelm}`,
    );
  });

  it("finalize each mirror once, by its owner, leaving nothing behind in either namespace (DaemonSet status patched by the test)", async () => {
    const mirrors = await Promise.all(
      ["first", "assigned", "raced-a", "raced-b"].map((name) => getMirror(cluster.client, name)),
    );
    for (const mirror of mirrors) {
      await cluster.client.delete({ ...mirrorApi, name: mirror.metadata?.name ?? "" });
    }
    for (const mirror of mirrors) {
      const name = mirror.metadata?.name ?? "";
      const namespace = namespaceOf(ownerOf(mirror) ?? "");
      const agent = `regmirror-${name}-node-agent`;
      const reference = { apiVersion: "apps/v1", kind: "DaemonSet", namespace, name: agent };
      // The owner rolls its agents to the uninstall state; the test reports them done.
      const daemonSet = await eventually(async () => {
        const current = await cluster.client.get<KubeObject>(reference);
        expect(current.metadata?.annotations?.["regmirror.dev/node-agent-mode"]).toBe("uninstall");
        return current;
      });
      await cluster.client.patch(
        reference,
        {
          status: {
            observedGeneration: daemonSet.metadata?.generation,
            currentNumberScheduled: 1,
            desiredNumberScheduled: 1,
            numberMisscheduled: 0,
            numberReady: 1,
            updatedNumberScheduled: 1,
            numberAvailable: 1,
          },
        },
        "application/merge-patch+json",
        { subresource: "status" },
      );
    }
    for (const mirror of mirrors) {
      const name = mirror.metadata?.name ?? "";
      await eventually(async () => {
        await expect(getMirror(cluster.client, name)).rejects.toThrow(/404/);
      });
      for (const namespace of [operatorNamespace, helmNamespace]) {
        expect(await objectsOf(name, namespace), `${name} in ${namespace}`).toEqual([]);
      }
    }
    const finalizedBy = (log: typeof kustomizeLog) =>
      log.entries
        .filter((entry) => entry.message === "mirror finalized")
        .map((entry) => entry.fields.mirror as string)
        .sort();
    const byOwner = (installation: string) =>
      mirrors
        .filter((mirror) => ownerOf(mirror) === installation)
        .map((mirror) => mirror.metadata?.name ?? "")
        .sort();
    expect(finalizedBy(kustomizeLog)).toEqual(byOwner(kustomizeInstallation));
    expect(finalizedBy(helmLog)).toEqual(byOwner(helmInstallation));
  });
});
