// Tests of the controller: keys from informers, reconcile results, requeue and shutdown.
import { createServer } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createController } from "./controller.js";
import { ReconcilerError } from "./errors.js";
import { createInformer } from "./informer.js";
import { createKubernetesClient } from "./kubernetes-client.js";

/** A loopback port nobody listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

describe("createController", () => {
  it("closes while its informers cannot sync (fault: nothing listens at the server address)", async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [
        { name: "gone", server: `http://127.0.0.1:${await closedPort()}`, skipTLSVerify: true },
      ],
      users: [{ name: "nobody" }],
      contexts: [{ name: "gone", cluster: "gone", user: "nobody" }],
      currentContext: "gone",
    });
    const client = createKubernetesClient({ kubeConfig });
    const informer = createInformer({ client, apiVersion: "v1", kind: "ConfigMap" });
    const reconciled: string[] = [];
    const controller = createController({
      name: "never-synced",
      informers: [{ informer }],
      reconcile: ({ key }) => {
        reconciled.push(key);
        return undefined;
      },
    });
    const starting = controller.start();
    controller.enqueue("default/by-hand");
    await controller.close();
    await starting;
    await informer.close();
    await client.close();
    expect(informer.hasSynced()).toBe(false);
    expect(reconciled).toEqual([]);
    await expect(controller.start()).rejects.toThrowError(ReconcilerError);
  });

  it("rejects options that cannot work, naming them", () => {
    const informer = {} as Parameters<typeof createController>[0]["informers"][number]["informer"];
    expect(() =>
      createController({
        name: "c",
        informers: [{ informer }],
        reconcile: () => undefined,
        concurrency: 0,
      }),
    ).toThrowError(/concurrency must be an integer >= 1/);
    expect(() =>
      createController({ name: "c", informers: [], reconcile: () => undefined }),
    ).toThrowError(/at least one informer/);
  });
});
