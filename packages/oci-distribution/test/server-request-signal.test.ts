// The abort signal a backend gets with each request: aborted when the client goes before the
// answer is finished, or when the handler closes; never for a request that was answered.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createRegistryHandler, type RegistryHandler } from "../src/server/registry-handler.js";
import type { RegistryStorage } from "../src/server/registry-storage.js";
import { createMemoryStorage } from "../src/testing/index.js";

const digest = `sha256:${"a".repeat(64)}`;

/** A memory storage whose blob lookups wait until their request's signal aborts. */
function storageWaitingForAbort(signals: AbortSignal[]): RegistryStorage {
  const storage = createMemoryStorage();
  return {
    ...storage,
    statBlob: (_repository, _digest, context) =>
      new Promise((_resolve, reject) => {
        signals.push(context.signal);
        context.signal.addEventListener("abort", () => reject(context.signal.reason), {
          once: true,
        });
      }),
  };
}

describe("a request's abort signal", () => {
  let server: Server | undefined;
  let handler: RegistryHandler | undefined;
  /** One per request the server got: settles when its response is closed. */
  const closed: Promise<unknown>[] = [];

  afterEach(async () => {
    await handler?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  async function start(storage: RegistryStorage): Promise<string> {
    handler = createRegistryHandler({ storage });
    const serving = handler;
    server = createServer((request, response) => {
      closed.push(new Promise((resolve) => response.once("close", resolve)));
      void serving(request, response);
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Sends HEAD for the blob and gives the request (to destroy) once the backend has it. */
  async function headWaiting(base: string, signals: AbortSignal[]) {
    const sent = httpRequest(`${base}/v2/app/blobs/${digest}`, { method: "HEAD" });
    sent.on("error", () => {});
    sent.end();
    while (signals.length === 0) await new Promise((resolve) => setImmediate(resolve));
    return sent;
  }

  it("aborts when the client goes away before the answer", async () => {
    const signals: AbortSignal[] = [];
    const base = await start(storageWaitingForAbort(signals));
    const sent = await headWaiting(base, signals);
    const aborted = new Promise((resolve) => signals[0]?.addEventListener("abort", resolve));
    sent.destroy();
    await aborted;
    expect(signals[0]?.aborted).toBe(true);
  });

  it("aborts the requests in flight when the handler closes", async () => {
    const signals: AbortSignal[] = [];
    const base = await start(storageWaitingForAbort(signals));
    const sent = await headWaiting(base, signals);
    const answered = new Promise<number | undefined>((resolve) =>
      sent.on("response", (response) => resolve(response.statusCode)),
    );
    await handler?.close();
    expect(signals[0]?.aborted).toBe(true);
    expect(await answered).toBeGreaterThanOrEqual(500);
  });

  it("is not aborted for a request that was answered, and is the same signal each time", async () => {
    const seen: { first: AbortSignal; second: AbortSignal }[] = [];
    const storage = createMemoryStorage();
    const base = await start({
      ...storage,
      statBlob: async (repository, blobDigest, context) => {
        seen.push({ first: context.signal, second: context.signal });
        return storage.statBlob(repository, blobDigest, context);
      },
    });
    const response = await fetch(`${base}/v2/app/blobs/${digest}`, { method: "HEAD" });
    expect(response.status).toBe(404);
    await closed.at(-1);
    expect(seen[0]?.first).toBe(seen[0]?.second);
    expect(seen[0]?.first.aborted).toBe(false);
  });
});
