// Tests of the informer against injected faults (a fake server for faults the real one lacks).
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { silentLogger } from "@regmirror/core";
import { eventually } from "@regmirror/test-kit";
import { afterEach, describe, expect, it } from "vitest";
import { createInformer } from "./informer.js";
import { createKubernetesClient, type KubernetesClient } from "./kubernetes-client.js";
import type { KubeObject } from "./kubernetes-object.js";

// These tests inject faults the real API server does not produce on demand: a watch that
// goes silent without closing, and a 410 Gone in the middle of a watch. A small local HTTP
// server plays the API server's part for discovery, list and watch of ConfigMaps.

interface FakeApi {
  url: string;
  watchRequests: URLSearchParams[];
  listRequests: number;
  /** What the next list returns. */
  listItems: KubeObject[];
  listVersion: string;
  /** Decides what each watch request gets, by its index. */
  onWatch: (index: number, response: ServerResponse) => void;
  close(): Promise<void>;
}

function configMap(
  name: string,
  resourceVersion: string,
  data: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "n", resourceVersion },
    data,
  };
}

function sendEvent(response: ServerResponse, type: string, object: unknown): void {
  response.write(`${JSON.stringify({ type, object })}\n`);
}

async function startFakeApi(): Promise<FakeApi> {
  const sockets = new Set<import("node:net").Socket>();
  const api: FakeApi = {
    url: "",
    watchRequests: [],
    listRequests: 0,
    listItems: [],
    listVersion: "10",
    onWatch: () => {},
    close: async () => {},
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    response.setHeader("content-type", "application/json");
    if (url.pathname === "/api/v1") {
      response.end(
        JSON.stringify({
          resources: [{ name: "configmaps", kind: "ConfigMap", namespaced: true }],
        }),
      );
    } else if (url.pathname === "/api/v1/configmaps" && url.searchParams.get("watch")) {
      const index = api.watchRequests.push(url.searchParams) - 1;
      response.writeHead(200);
      response.flushHeaders();
      api.onWatch(index, response);
    } else if (url.pathname === "/api/v1/configmaps") {
      api.listRequests += 1;
      response.end(
        JSON.stringify({
          kind: "ConfigMapList",
          metadata: { resourceVersion: api.listVersion },
          items: api.listItems,
        }),
      );
    } else {
      response
        .writeHead(404)
        .end(JSON.stringify({ kind: "Status", reason: "NotFound", message: "no such path" }));
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return api;
}

function clientFor(url: string): KubernetesClient {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    // client-node refuses plain HTTP unless TLS verification is off (there is no TLS here).
    clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
    users: [{ name: "nobody" }],
    contexts: [{ name: "fake", cluster: "fake", user: "nobody" }],
    currentContext: "fake",
  });
  return createKubernetesClient({ kubeConfig });
}

describe("createInformer against injected faults", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("reopens a watch that went silent (fault: a local server that stops sending without closing)", async () => {
    const api = await startFakeApi();
    cleanups.push(() => api.close());
    api.onWatch = (index, response) => {
      if (index === 0) sendEvent(response, "ADDED", configMap("first", "11"));
      else sendEvent(response, "ADDED", configMap("second", "12"));
      // ...and then nothing, neither bytes nor a close: a dead connection looks like this.
    };
    const client = clientFor(api.url);
    const informer = createInformer({
      client,
      apiVersion: "v1",
      kind: "ConfigMap",
      silenceTimeoutMs: 300,
    });
    cleanups.push(async () => {
      await informer.close();
      await client.close();
    });
    informer.start();
    await informer.waitForSync();
    await eventually(() => expect(informer.store.get("n/second")).toBeDefined(), 10_000, 20);
    // The second watch continued from the last event seen on the first: nothing was missed.
    expect(api.watchRequests[0]?.get("resourceVersion")).toBe("10");
    expect(api.watchRequests[1]?.get("resourceVersion")).toBe("11");
    expect(api.listRequests).toBe(1);
  });

  it("relists on 410 Gone and reports what changed meanwhile (fault: a local server answers 410 in a watch)", async () => {
    const api = await startFakeApi();
    cleanups.push(() => api.close());
    api.listItems = [configMap("kept", "5", { v: "1" }), configMap("removed", "6")];
    api.onWatch = (index, response) => {
      if (index === 0) {
        sendEvent(response, "ERROR", {
          kind: "Status",
          code: 410,
          reason: "Expired",
          message: "too old resource version",
        });
        response.end();
        // What the next list sees: one object changed, one gone, one new.
        api.listItems = [configMap("kept", "20", { v: "2" }), configMap("added", "21")];
        api.listVersion = "21";
      }
    };
    const client = clientFor(api.url);
    const informer = createInformer({ client, apiVersion: "v1", kind: "ConfigMap" });
    const seen: string[] = [];
    informer.addEventHandler({
      onAdd: (object) => seen.push(`add ${object.metadata?.name}`),
      onUpdate: (previous, object) =>
        seen.push(
          `update ${object.metadata?.name} ${(previous.data as { v: string }).v}->${(object.data as { v: string }).v}`,
        ),
      onDelete: (object) => seen.push(`delete ${object.metadata?.name}`),
    });
    cleanups.push(async () => {
      await informer.close();
      await client.close();
    });
    informer.start();
    await eventually(() => expect(api.watchRequests.length).toBe(2), 10_000, 20);
    expect(api.listRequests).toBe(2);
    expect(api.watchRequests[1]?.get("resourceVersion")).toBe("21");
    expect(seen).toEqual([
      "add kept",
      "add removed",
      "update kept 1->2",
      "add added",
      "delete removed",
    ]);
    expect(informer.store.keys().sort()).toEqual(["n/added", "n/kept"]);
  });

  it("keeps retrying with backoff while the server is unreachable, then syncs (fault: nothing listens yet)", async () => {
    const api = await startFakeApi();
    const url = api.url;
    await api.close();
    const client = clientFor(url);
    const warnings: string[] = [];
    const logger = {
      ...silentLogger,
      warn: (fields: Record<string, unknown>, message: string) =>
        warnings.push(`${message}: ${fields.error}`),
    };
    const informer = createInformer({
      client,
      apiVersion: "v1",
      kind: "ConfigMap",
      logger,
      backoff: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    cleanups.push(async () => {
      await informer.close();
      await client.close();
    });
    informer.start();
    await eventually(() => expect(warnings.length).toBeGreaterThanOrEqual(3), 10_000, 20);
    expect(informer.hasSynced()).toBe(false);
    // The log says why, not just "fetch failed".
    expect(warnings[0]).toMatch(
      /^list failed: ReconcilerError: GET \/api\/v1 failed: .*ECONNREFUSED/,
    );
    // Bring a server up on the same port: the informer must get there by itself.
    const port = Number(new URL(url).port);
    const revived = createServer((request, response) => {
      const path = new URL(request.url ?? "/", "http://x").pathname;
      response.setHeader("content-type", "application/json");
      if (path === "/api/v1") {
        response.end(
          JSON.stringify({
            resources: [{ name: "configmaps", kind: "ConfigMap", namespaced: true }],
          }),
        );
      } else if (request.url?.includes("watch=")) {
        response.writeHead(200).flushHeaders();
      } else {
        response.end(
          JSON.stringify({ metadata: { resourceVersion: "1" }, items: [configMap("late", "1")] }),
        );
      }
    });
    revived.listen(port, "127.0.0.1");
    await once(revived, "listening");
    cleanups.push(async () => {
      revived.closeAllConnections();
      await new Promise((resolve) => revived.close(resolve));
    });
    await informer.waitForSync();
    expect(informer.store.get("n/late")).toBeDefined();
  });
});
