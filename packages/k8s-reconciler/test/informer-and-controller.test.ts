import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Controller,
  createController,
  createInformer,
  type Informer,
  type KubeObject,
  ownerKeysOf,
  type ReconcileRequest,
  withControllerReference,
} from "../src/index.js";
import { configMapIn, eventually, startTestCluster, type TestCluster } from "./support.js";

const namespace = "informers";
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster({ namespace });
});

afterAll(async () => {
  await cluster?.stop();
});

function configMap(
  name: string,
  data: Record<string, string>,
  labels: Record<string, string> = {},
): KubeObject {
  return configMapIn(namespace, name, data, labels);
}

describe("informer", () => {
  it("lists what exists, then sees creates, updates and deletes of ConfigMaps", async () => {
    await cluster.client.create(configMap("before-start", { n: "0" }));
    const informer = createInformer({
      client: cluster.newClient(),
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
    });
    const seen: string[] = [];
    informer.addEventHandler({
      onAdd: (object) => seen.push(`add ${object.metadata?.name}`),
      onUpdate: (_previous, object) =>
        seen.push(`update ${object.metadata?.name} ${JSON.stringify(object.data)}`),
      onDelete: (object) => seen.push(`delete ${object.metadata?.name}`),
    });
    informer.start();
    try {
      await informer.waitForSync();
      expect(informer.hasSynced()).toBe(true);
      expect(informer.store.get(`${namespace}/before-start`)?.data).toEqual({ n: "0" });

      await cluster.client.create(configMap("watched", { n: "1" }));
      await cluster.client.apply(configMap("watched", { n: "2" }), {
        fieldManager: "test",
        force: true,
      });
      await cluster.client.delete({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace,
        name: "watched",
      });
      await eventually(() =>
        expect(seen.filter((entry) => entry.includes("watched"))).toHaveLength(3),
      );
      expect(seen).toContain("add before-start");
      expect(seen.filter((entry) => entry.includes("watched"))).toEqual([
        "add watched",
        'update watched {"n":"2"}',
        "delete watched",
      ]);
      expect(informer.store.get(`${namespace}/watched`)).toBeUndefined();
    } finally {
      await informer.close();
    }
  });

  it("only sees objects that match its label selector", async () => {
    const informer = createInformer({
      client: cluster.newClient(),
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      labelSelector: "team=blue",
    });
    informer.start();
    try {
      await informer.waitForSync();
      await cluster.client.create(configMap("red-one", {}, { team: "red" }));
      await cluster.client.create(configMap("blue-one", {}, { team: "blue" }));
      await eventually(() => expect(informer.store.keys()).toEqual([`${namespace}/blue-one`]));
    } finally {
      await informer.close();
    }
  });
});

describe("controller", () => {
  // A small controller: for each ConfigMap labelled role=source, keep a ConfigMap
  // "<name>-copy" with the same data, owned by the source.
  let sources: Informer;
  let copies: Informer;
  let controller: Controller;
  const reconciled: string[] = [];
  let failNextFor: string | undefined;

  async function reconcile(request: ReconcileRequest) {
    reconciled.push(request.key);
    if (failNextFor === request.key) {
      failNextFor = undefined;
      throw new Error("injected failure: the reconcile throws once");
    }
    const source = sources.store.get(request.key);
    if (!source) return undefined; // deleted: its copy would be garbage-collected in a cluster
    const copy = withControllerReference(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `${request.name}-copy`, namespace },
        data: source.data,
      },
      source,
    );
    await cluster.client.apply(copy, { fieldManager: "copy-controller", force: true });
    return source.metadata?.labels?.refresh ? { requeueAfter: 200 } : undefined;
  }

  beforeAll(async () => {
    const client = cluster.newClient();
    sources = createInformer({
      client,
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      labelSelector: "role=source",
    });
    copies = createInformer({
      client,
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      labelSelector: "!role",
    });
    controller = createController({
      name: "copy-controller",
      informers: [
        { informer: sources },
        {
          informer: copies,
          keysOf: ownerKeysOf({ apiVersion: "v1", kind: "ConfigMap", namespaced: true }),
        },
      ],
      reconcile,
      concurrency: 2,
    });
    await controller.start();
  });

  afterAll(async () => {
    await controller?.close();
    await sources?.close();
    await copies?.close();
  });

  const readCopy = (name: string) =>
    cluster.client.get({ apiVersion: "v1", kind: "ConfigMap", namespace, name: `${name}-copy` });

  it("creates the owned object and follows changes of the primary", async () => {
    await cluster.client.create(configMap("alpha", { greeting: "hello" }, { role: "source" }));
    await eventually(async () =>
      expect((await readCopy("alpha")).data).toEqual({ greeting: "hello" }),
    );
    await cluster.client.apply(configMap("alpha", { greeting: "bonjour" }, { role: "source" }), {
      fieldManager: "test",
      force: true,
    });
    await eventually(async () =>
      expect((await readCopy("alpha")).data).toEqual({ greeting: "bonjour" }),
    );
  });

  it("puts back an owned object that was deleted (its event maps to the owner's key)", async () => {
    const before = await eventually(() => readCopy("alpha"));
    await cluster.client.delete({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      name: "alpha-copy",
    });
    const after = await eventually(() => readCopy("alpha"));
    expect(after.metadata?.uid).not.toBe(before.metadata?.uid);
    expect(after.data).toEqual({ greeting: "bonjour" });
  });

  it("corrects drift on an owned object", async () => {
    await cluster.client.apply(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "alpha-copy", namespace },
        data: { greeting: "tampered" },
      },
      { fieldManager: "someone-else", force: true },
    );
    await eventually(async () =>
      expect((await readCopy("alpha")).data).toEqual({ greeting: "bonjour" }),
    );
  });

  it("retries a key whose reconcile threw", async () => {
    failNextFor = `${namespace}/beta`;
    await cluster.client.create(configMap("beta", { v: "1" }, { role: "source" }));
    await eventually(async () => expect((await readCopy("beta")).data).toEqual({ v: "1" }));
    expect(reconciled.filter((key) => key === `${namespace}/beta`).length).toBeGreaterThanOrEqual(
      2,
    );
    expect(failNextFor).toBeUndefined();
  });

  it("reconciles again after requeueAfter with no change in between", async () => {
    await cluster.client.create(configMap("gamma", { v: "1" }, { role: "source", refresh: "yes" }));
    await eventually(() =>
      expect(
        reconciled.filter((key) => key === `${namespace}/gamma`).length,
      ).toBeGreaterThanOrEqual(4),
    );
  });
});

describe("controller shutdown", () => {
  function slowController(label: string) {
    const informer = createInformer({
      client: cluster.newClient(),
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace,
      labelSelector: `slow=${label}`,
    });
    const steps: string[] = [];
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const controller = createController({
      name: `slow-${label}`,
      informers: [{ informer }],
      async reconcile({ name, signal }) {
        steps.push(`start ${name}`);
        await Promise.race([
          released,
          new Promise((resolve) => signal.addEventListener("abort", resolve)),
        ]);
        steps.push(`${signal.aborted ? "aborted" : "end"} ${name}`);
        return undefined;
      },
    });
    return { informer, controller, steps, release };
  }

  it("close() lets a running reconcile finish before it resolves", async () => {
    const { informer, controller, steps, release } = slowController("drain");
    try {
      await controller.start();
      await cluster.client.create(configMap("slow-one", {}, { slow: "drain" }));
      await eventually(() => expect(steps).toEqual(["start slow-one"]));
      const closing = controller.close().then(() => steps.push("closed"));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(steps).toEqual(["start slow-one"]);
      release();
      await closing;
      expect(steps).toEqual(["start slow-one", "end slow-one", "closed"]);
    } finally {
      release();
      await informer.close();
    }
  });

  it("close({ drain: false }) aborts the signal of a running reconcile", async () => {
    const { informer, controller, steps, release } = slowController("abort");
    try {
      await controller.start();
      await cluster.client.create(configMap("slow-two", {}, { slow: "abort" }));
      await eventually(() => expect(steps).toEqual(["start slow-two"]));
      await controller.close({ drain: false });
      expect(steps).toEqual(["start slow-two", "aborted slow-two"]);
    } finally {
      release();
      await informer.close();
    }
  });
});
