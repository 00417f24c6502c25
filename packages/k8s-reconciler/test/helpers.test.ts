import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addFinalizer,
  applyStatus,
  type Condition,
  controllerOf,
  createEventRecorder,
  findCondition,
  isConflict,
  type KubeObject,
  KubernetesApiError,
  ReconcilerError,
  removeFinalizer,
  setCondition,
  updateStatus,
  withControllerReference,
} from "../src/index.js";
import { configMapIn, eventually, startTestCluster, type TestCluster } from "./support.js";

// Server-side apply, owner references, finalizers, status and events against a real
// kube-apiserver (no controller manager runs: nothing is garbage-collected here).

const namespace = "helpers";
const widgetsCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.test.example.com" },
  spec: {
    group: "test.example.com",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", properties: { size: { type: "integer" } } },
              status: {
                type: "object",
                properties: {
                  observedGeneration: { type: "integer" },
                  conditions: {
                    type: "array",
                    items: {
                      type: "object",
                      required: ["type", "status", "reason", "message", "lastTransitionTime"],
                      properties: {
                        type: { type: "string" },
                        status: { type: "string", enum: ["True", "False", "Unknown"] },
                        reason: { type: "string" },
                        message: { type: "string" },
                        lastTransitionTime: { type: "string", format: "date-time" },
                        observedGeneration: { type: "integer" },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

interface Widget extends KubeObject {
  spec?: { size?: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster({ namespace });
  await cluster.client.create(widgetsCrd);
  // The CRD serves once discovery lists it (its Established condition comes first).
  await eventually(() => cluster.client.resources.resolve("test.example.com/v1", "Widget"));
});

afterAll(async () => {
  await cluster?.stop();
});

function configMap(name: string, data: Record<string, string> = {}): KubeObject {
  return configMapIn(namespace, name, data);
}

describe("server-side apply", () => {
  it("records the field manager in managedFields and returns the applied object", async () => {
    const applied = await cluster.client.apply(configMap("ssa-one", { color: "blue" }), {
      fieldManager: "widget-controller",
    });
    expect(applied.data).toEqual({ color: "blue" });
    const managers = applied.metadata?.managedFields?.map((entry) => [
      entry.manager,
      entry.operation,
    ]);
    expect(managers).toContainEqual(["widget-controller", "Apply"]);
  });

  it("refuses to take another manager's field without force, and takes it with force", async () => {
    await cluster.client.apply(configMap("ssa-two", { color: "blue" }), {
      fieldManager: "first-manager",
    });
    const conflict = await cluster.client
      .apply(configMap("ssa-two", { color: "red" }), { fieldManager: "second-manager" })
      .catch((error: unknown) => error);
    expect(isConflict(conflict)).toBe(true);
    expect((conflict as KubernetesApiError).message).toMatch(/first-manager/);

    const forced = await cluster.client.apply(configMap("ssa-two", { color: "red" }), {
      fieldManager: "second-manager",
      force: true,
    });
    expect(forced.data).toEqual({ color: "red" });
    const owners = forced.metadata?.managedFields?.map((entry) => entry.manager);
    expect(owners).toContain("second-manager");
    expect(owners).not.toContain("first-manager");
  });

  it("removes a field the manager stops applying", async () => {
    await cluster.client.apply(configMap("ssa-three", { a: "1", b: "2" }), {
      fieldManager: "widget-controller",
    });
    const next = await cluster.client.apply(configMap("ssa-three", { a: "1" }), {
      fieldManager: "widget-controller",
    });
    expect(next.data).toEqual({ a: "1" });
  });

  it("applies a custom resource found through discovery", async () => {
    const widget = await cluster.client.apply<Widget>(
      {
        apiVersion: "test.example.com/v1",
        kind: "Widget",
        metadata: { name: "applied", namespace },
        spec: { size: 3 },
      },
      { fieldManager: "widget-controller" },
    );
    expect(widget.spec?.size).toBe(3);
    expect(widget.metadata?.uid).toBeTruthy();
  });

  it("names an unknown kind in its error", async () => {
    const error = await cluster.client
      .apply(
        { apiVersion: "test.example.com/v1", kind: "Gadget", metadata: { name: "g", namespace } },
        { fieldManager: "m" },
      )
      .catch((caught: unknown) => caught);
    expect(ReconcilerError.isInstance(error) && error.code).toBe("UNKNOWN_KIND");
    expect((error as Error).message).toMatch(/Gadget in test.example.com\/v1/);
  });
});

describe("owner references", () => {
  it("are stored by the API server with controller and blockOwnerDeletion set", async () => {
    const owner = await cluster.client.create<Widget>({
      apiVersion: "test.example.com/v1",
      kind: "Widget",
      metadata: { name: "owner", namespace },
      spec: { size: 1 },
    });
    const owned = await cluster.client.apply(
      withControllerReference(configMap("owned-config", { a: "1" }), owner),
      {
        fieldManager: "widget-controller",
      },
    );
    expect(controllerOf(owned)).toEqual({
      apiVersion: "test.example.com/v1",
      kind: "Widget",
      name: "owner",
      uid: owner.metadata?.uid,
      controller: true,
      blockOwnerDeletion: true,
    });
    // A second controller is refused before anything is sent.
    const rival = { ...owner, metadata: { ...owner.metadata, name: "rival", uid: "another-uid" } };
    expect(() => withControllerReference(owned, rival)).toThrowError(
      /already controlled by Widget owner/,
    );
  });
});

describe("finalizers", () => {
  it("adds without losing one added meanwhile, and lets deletion finish once all are removed", async () => {
    const created = await cluster.client.create(configMap("finalized"));
    // Another writer adds its finalizer first; ours is then added from the stale copy.
    await addFinalizer(cluster.client, created, "other.io/hold");
    const withOurs = await addFinalizer(cluster.client, created, "example.com/cleanup");
    expect(withOurs.metadata?.finalizers).toEqual(["other.io/hold", "example.com/cleanup"]);
    // Adding it again changes nothing and sends nothing.
    expect(await addFinalizer(cluster.client, withOurs, "example.com/cleanup")).toBe(withOurs);

    await cluster.client.delete({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      name: "finalized",
    });
    const deleting = await cluster.client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      name: "finalized",
    });
    expect(deleting.metadata?.deletionTimestamp).toBeTruthy();

    const stillHeld = await removeFinalizer(cluster.client, deleting, "example.com/cleanup");
    expect(stillHeld?.metadata?.finalizers).toEqual(["other.io/hold"]);
    const gone = await removeFinalizer(cluster.client, stillHeld as KubeObject, "other.io/hold");
    expect(gone?.metadata?.finalizers ?? []).toEqual([]);
    const read = await cluster.client
      .get({ apiVersion: "v1", kind: "ConfigMap", namespace, name: "finalized" })
      .catch((error: unknown) => error);
    expect(read).toBeInstanceOf(KubernetesApiError);
    expect((read as KubernetesApiError).statusCode).toBe(404);
  });
});

describe("status updates", () => {
  it("write conditions and observedGeneration through the status subresource", async () => {
    let widget = await cluster.client.create<Widget>({
      apiVersion: "test.example.com/v1",
      kind: "Widget",
      metadata: { name: "status-widget", namespace },
      spec: { size: 1 },
    });
    const t0 = Date.parse("2026-03-01T10:00:00Z");
    widget = await updateStatus(cluster.client, widget, {
      conditions: setCondition(
        [],
        { type: "Ready", status: "False", reason: "Creating", message: "0/1" },
        t0,
      ),
    });
    expect(widget.status?.observedGeneration).toBe(1);

    // A spec change bumps the generation; the status follows, the transition time stays.
    widget = await cluster.client.apply<Widget>(
      {
        apiVersion: "test.example.com/v1",
        kind: "Widget",
        metadata: { name: "status-widget", namespace },
        spec: { size: 2 },
      },
      { fieldManager: "test", force: true },
    );
    expect(widget.metadata?.generation).toBe(2);
    widget = await updateStatus(cluster.client, widget, {
      conditions: setCondition(
        widget.status?.conditions,
        { type: "Ready", status: "False", reason: "Scaling", message: "1/2" },
        t0 + 60_000,
      ),
    });
    const read = await cluster.client.get<Widget>({
      apiVersion: "test.example.com/v1",
      kind: "Widget",
      namespace,
      name: "status-widget",
    });
    expect(read.status?.observedGeneration).toBe(2);
    expect(findCondition(read.status?.conditions, "Ready")).toEqual({
      type: "Ready",
      status: "False",
      reason: "Scaling",
      message: "1/2",
      lastTransitionTime: "2026-03-01T10:00:00Z",
    });
    // The spec is not writable through the status subresource.
    expect(read.spec?.size).toBe(2);
  });

  it("sends nothing when the status would not change", async () => {
    const widget = await cluster.client.get<Widget>({
      apiVersion: "test.example.com/v1",
      kind: "Widget",
      namespace,
      name: "status-widget",
    });
    const same = await updateStatus(cluster.client, widget, {
      conditions: widget.status?.conditions ?? [],
    });
    expect(same).toBe(widget);
  });

  it("fails with 409 Conflict on a stale copy, so the reconcile retries on fresh data", async () => {
    const stale = await cluster.client.get<Widget>({
      apiVersion: "test.example.com/v1",
      kind: "Widget",
      namespace,
      name: "status-widget",
    });
    await cluster.client.apply(
      {
        apiVersion: "test.example.com/v1",
        kind: "Widget",
        metadata: { name: "status-widget", namespace },
        spec: { size: 5 },
      },
      { fieldManager: "test", force: true },
    );
    const error = await updateStatus(cluster.client, stale, { conditions: [] }).catch(
      (caught: unknown) => caught,
    );
    expect(isConflict(error)).toBe(true);
  });
});

describe("status apply", () => {
  it("server-side applies only the status fields given, recorded for the status subresource", async () => {
    await cluster.client.create<Widget>({
      apiVersion: "test.example.com/v1",
      kind: "Widget",
      metadata: { name: "applied-status", namespace },
      spec: { size: 4 },
    });
    const conditions = setCondition(
      [],
      { type: "Ready", status: "True", reason: "Done", message: "" },
      Date.now(),
    );
    const widget = await applyStatus<Widget>(
      cluster.client,
      {
        apiVersion: "test.example.com/v1",
        kind: "Widget",
        metadata: { name: "applied-status", namespace },
      },
      { observedGeneration: 1, conditions },
      { fieldManager: "widget-controller" },
    );
    expect(widget.status).toEqual({ observedGeneration: 1, conditions });
    expect(widget.spec?.size).toBe(4);
    const entry = widget.metadata?.managedFields?.find(
      (field) => field.manager === "widget-controller",
    );
    expect(entry).toMatchObject({ operation: "Apply", subresource: "status" });
  });
});

describe("event recorder", () => {
  it("records events.k8s.io/v1 Events about an object and counts repeats as a series", async () => {
    const subject = await cluster.client.create(configMap("event-subject"));
    const recorder = createEventRecorder({
      client: cluster.client,
      reportingController: "example.com/widget-controller",
      reportingInstance: "test-1",
    });
    const event = {
      type: "Warning",
      reason: "ApplyFailed",
      action: "Apply",
      note: "quota exceeded",
    } as const;
    await recorder.record(subject, event);
    await recorder.record(subject, event);
    await recorder.record(subject, { ...event, type: "Normal", reason: "Applied", note: "ok" });

    const { items } = await cluster.client.list<KubeObject & Record<string, unknown>>(
      "events.k8s.io/v1",
      "Event",
      {
        namespace,
        fieldSelector: "regarding.name=event-subject",
      },
    );
    const summary = items
      .map((item) => ({
        reason: item.reason,
        type: item.type,
        note: item.note,
        controller: item.reportingController,
        uid: (item.regarding as { uid?: string }).uid,
        count: (item.series as { count?: number } | undefined)?.count ?? 1,
      }))
      .sort((a, b) => String(a.reason).localeCompare(String(b.reason)));
    expect(summary).toEqual([
      {
        reason: "Applied",
        type: "Normal",
        note: "ok",
        controller: "example.com/widget-controller",
        uid: subject.metadata?.uid,
        count: 1,
      },
      {
        reason: "ApplyFailed",
        type: "Warning",
        note: "quota exceeded",
        controller: "example.com/widget-controller",
        uid: subject.metadata?.uid,
        count: 2,
      },
    ]);
  });
});
