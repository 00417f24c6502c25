// Tests of the client under injected faults (the test kit's fault proxy).
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { Logger } from "@regmirror/core";
import { computeDigest, DigestMismatchError } from "@regmirror/core";
import {
  buildTestImage,
  type FaultProxy,
  seededBytes,
  startFaultProxy,
  startUpstreamRegistry,
  stopAll,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { Agent, type Dispatcher } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, pushImageWithClient, readAll } from "../../test/client-test-support.js";
import { RegistryError } from "../model/errors.js";
import { RegistryClientError } from "./client-errors.js";
import { createRegistryClient, type RegistryClientOptions } from "./registry-client.js";

async function listen(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server | undefined): Promise<void> {
  if (!server?.listening) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const clients: { close(): Promise<void> }[] = [];
function client(options: RegistryClientOptions) {
  const created = createRegistryClient({ retry: { minDelayMs: 1, maxDelayMs: 10 }, ...options });
  clients.push(created);
  return created;
}
afterAll(async () => {
  await Promise.all(clients.map((created) => created.close()));
});

describe("registry client through the fault proxy in front of docker-registry", () => {
  let registry: UpstreamRegistry;
  let proxy: FaultProxy;
  let agent: Agent;
  /** Request headers the client sent, by "METHOD path". */
  const sent: { line: string; headers: Dispatcher.DispatchOptions["headers"] }[] = [];
  const blob = seededBytes("client-faults-blob", 400_000);
  const digest = computeDigest(blob);
  const blobPath = new RegExp(`/blobs/${digest}`);

  beforeAll(async () => {
    registry = await startUpstreamRegistry({ auth: "none" });
    proxy = await startFaultProxy({ target: registry.url });
    agent = new Agent();
    await client({ registry: registry.url }).pushBlob("faults/app", blob);
  });
  afterAll(() => stopAll(agent, proxy, registry));

  function proxiedClient(options: Partial<RegistryClientOptions> = {}) {
    proxy.setFault(undefined);
    proxy.resetCounts();
    sent.length = 0;
    return client({
      registry: proxy.url,
      dispatcher: agent.compose((dispatch) => (request, handler) => {
        sent.push({ line: `${request.method} ${request.path}`, headers: request.headers });
        return dispatch(request, handler);
      }),
      ...options,
    });
  }

  it("resumes a blob download cut after 100000 bytes with a Range request and verifies the whole", async () => {
    const faulty = proxiedClient();
    proxy.setFault({ method: "GET", path: blobPath, cutAfterBytes: 100_000, times: 1 });
    const download = await faulty.getBlob("faults/app", digest);
    expect((await readAll(download.stream)).equals(blob)).toBe(true);
    const blobRequests = sent.filter((request) => blobPath.test(request.line));
    expect(blobRequests).toHaveLength(2);
    expect((blobRequests[1]?.headers as Record<string, string> | undefined)?.range).toBe(
      "bytes=100000-",
    );
  });

  it("resumes again and again while each attempt makes progress", async () => {
    const faulty = proxiedClient({ retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1 } });
    // Each attempt is cut 50000 bytes in: more breaks than retries, but every one makes progress.
    proxy.setFault({ method: "GET", path: blobPath, cutAfterBytes: 50_000, times: 4 });
    const download = await faulty.getBlob("faults/app", digest);
    expect((await readAll(download.stream)).equals(blob)).toBe(true);
    const ranges = sent
      .filter((request) => blobPath.test(request.line))
      .map((request) => (request.headers as Record<string, string>).range);
    expect(ranges).toEqual([
      undefined,
      "bytes=50000-",
      "bytes=100000-",
      "bytes=150000-",
      "bytes=200000-",
    ]);
  });

  it("fails the stream with CONNECTION_FAILED when resuming is not allowed", async () => {
    const faulty = proxiedClient({ retry: { retries: 0 } });
    proxy.setFault({ method: "GET", path: blobPath, cutAfterBytes: 10_000, times: 1 });
    const download = await faulty.getBlob("faults/app", digest);
    const error = await errorOf(readAll(download.stream));
    expect(RegistryClientError.isInstance(error) && error.code).toBe("CONNECTION_FAILED");
  });

  it("fails the stream with DigestMismatchError when a byte arrives corrupted", async () => {
    const faulty = proxiedClient();
    proxy.setFault({ method: "GET", path: blobPath, corruptByteAt: 123_456, times: 1 });
    const download = await faulty.getBlob("faults/app", digest);
    await expect(readAll(download.stream)).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it("refuses a manifest over the limit without reading past it, declared in Content-Length or chunked", async () => {
    const image = await buildTestImage({ seed: "client-faults-manifest", layers: [100] });
    await pushImageWithClient(client({ registry: registry.url }), "faults/manifest", image);
    for (const chunked of [false, true]) {
      const faulty = proxiedClient({ maximumManifestBytes: 1024 * 1024 });
      proxy.setFault({
        method: "GET",
        path: /\/manifests\//,
        oversizedBody: { bytes: 100 * 1024 * 1024, chunked },
      });
      const error = await errorOf(faulty.getManifest("faults/manifest", image.tag));
      expect(error).toMatchObject({
        code: "MANIFEST_TOO_LARGE",
        message: `manifest faults/manifest:${image.tag} is larger than 1048576 bytes`,
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sent = proxy.requests().find((request) => request.method === "GET")?.bodyBytesSent;
      // What the proxy wrote includes what loopback socket buffers took: far from 100 MiB.
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    }
  });

  it("retries 503 answers of an idempotent request and returns the result", async () => {
    const faulty = proxiedClient({ retry: { retries: 2, minDelayMs: 1, maxDelayMs: 5 } });
    proxy.setFault({ method: "HEAD", path: blobPath, status: 503, times: 2 });
    expect(await faulty.headBlob("faults/app", digest)).toEqual({ digest, size: blob.length });
    expect(proxy.requestCount(blobPath)).toBe(3);
  });

  it("gives up after the configured retries with the registry's error", async () => {
    const faulty = proxiedClient({ retry: { retries: 1, minDelayMs: 1, maxDelayMs: 5 } });
    proxy.setFault({ method: "HEAD", path: blobPath, status: 429 });
    const error = await errorOf(faulty.headBlob("faults/app", digest));
    expect(RegistryError.isInstance(error) && [error.code, error.status]).toEqual([
      "TOOMANYREQUESTS",
      429,
    ]);
    expect(proxy.requestCount(blobPath)).toBe(2);
  });

  /** The /v2/ requests the proxy saw, with the time each arrived. */
  function pings() {
    return proxy.requests().filter((request) => request.path === "/v2/");
  }

  it("waits the Retry-After seconds of a 429 before the retry", async () => {
    // Without Retry-After the backoff would be about 1 ms.
    const limited = proxiedClient({ retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1 } });
    proxy.setFault({ path: /^\/v2\/$/, status: 429, headers: { "retry-after": "1" }, times: 1 });
    expect(await limited.ping()).toEqual({ apiVersion: "registry/2.0" });
    const [refused, retried] = pings();
    expect(retried).toBeDefined();
    // The retry must not come back before the moment the registry named (timer slack: 50 ms).
    expect((retried?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(1000 - 50);
  });

  it("waits until a Retry-After HTTP-date of a 503 before the retry", async () => {
    const limited = proxiedClient({ retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1 } });
    const notBefore = Math.ceil((Date.now() + 1000) / 1000) * 1000;
    const retryAfter = new Date(notBefore).toUTCString();
    proxy.setFault({
      path: /^\/v2\/$/,
      status: 503,
      headers: { "retry-after": retryAfter },
      times: 1,
    });
    expect(await limited.ping()).toEqual({ apiVersion: "registry/2.0" });
    const [, retried] = pings();
    expect(retried?.at ?? 0).toBeGreaterThanOrEqual(notBefore - 50);
  });

  it("does not wait for a Retry-After beyond maxRetryAfterMs and reports it", async () => {
    const impatient = proxiedClient({ retry: { retries: 3, maxRetryAfterMs: 5000 } });
    proxy.setFault({ path: /^\/v2\/$/, status: 429, headers: { "retry-after": "3600" } });
    const error = await errorOf(impatient.ping());
    expect(RegistryError.isInstance(error) && [error.code, error.retryAfterSeconds]).toEqual([
      "TOOMANYREQUESTS",
      3600,
    ]);
    expect(pings()).toHaveLength(1);
  });

  it("with retryRateLimited false returns a 429 at once, and onResponse sees every answer's headers", async () => {
    const seen: { status: number; remaining: unknown }[] = [];
    const sharing = proxiedClient({
      retry: { retries: 3, minDelayMs: 1, maxDelayMs: 1, retryRateLimited: false },
      onResponse: (response) =>
        seen.push({ status: response.status, remaining: response.headers["ratelimit-remaining"] }),
    });
    proxy.setFault({
      path: /^\/v2\/$/,
      status: 429,
      headers: { "retry-after": "1", "ratelimit-remaining": "0;w=21600" },
      times: 1,
    });
    const error = await errorOf(sharing.ping());
    expect(RegistryError.isInstance(error) && [error.code, error.retryAfterSeconds]).toEqual([
      "TOOMANYREQUESTS",
      1,
    ]);
    expect(pings()).toHaveLength(1);
    expect(seen).toEqual([{ status: 429, remaining: "0;w=21600" }]);
    // A 503 is still retried.
    proxy.setFault({ path: /^\/v2\/$/, status: 503, times: 1 });
    expect(await sharing.ping()).toEqual({ apiVersion: "registry/2.0" });
    expect(seen.slice(1).map((answer) => answer.status)).toEqual([503, 200]);
  });

  it("restarts a failed in-memory upload in a new session, and never re-sends a streamed one", async () => {
    const faulty = proxiedClient();
    const content = Buffer.from("an upload that meets a 503 first");
    proxy.setFault({ method: "POST", path: /\/blobs\/uploads\/$/, status: 503, times: 1 });
    const pushed = await faulty.pushBlob("faults/upload", content);
    expect(pushed.outcome).toBe("uploaded");
    expect(proxy.requests().filter((request) => request.method === "POST")).toHaveLength(2);

    const streamed = proxiedClient();
    proxy.setFault({ method: "PATCH", status: 503, times: 1 });
    const error = await errorOf(
      streamed.pushBlob(
        "faults/upload",
        Readable.from([Buffer.from("streamed content, sent once")]),
      ),
    );
    expect(RegistryError.isInstance(error) && error.status).toBe(503);
    expect(proxy.requests().filter((request) => request.method === "PATCH")).toHaveLength(1);
  });

  it("times out a request whose answer does not come, and succeeds when a retry gets one", async () => {
    const slow = proxiedClient({ timeoutMs: 300, retry: { retries: 0 } });
    proxy.setFault({ method: "HEAD", path: blobPath, delayMs: 3000, times: 1 });
    const error = await errorOf(slow.headBlob("faults/app", digest));
    expect(RegistryClientError.isInstance(error) && error.code).toBe("TIMEOUT");

    const patient = proxiedClient({
      timeoutMs: 300,
      retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1 },
    });
    proxy.setFault({ method: "HEAD", path: blobPath, delayMs: 3000, times: 1 });
    expect(await patient.headBlob("faults/app", digest)).toEqual({ digest, size: blob.length });
  });

  it("lets a slow upload that keeps making progress finish, and times out one that stalls (slow link simulated by a dispatcher interceptor)", async () => {
    /** Hands the PUT body to the socket one 64 KiB piece at a time, `pauseMs` apart. */
    const slowLink =
      (pauseMs: (piece: number) => number): Dispatcher.DispatcherComposeInterceptor =>
      (dispatch) =>
      (options, handler) => {
        const source = options.body;
        if (options.method !== "PUT" || !(source instanceof Readable))
          return dispatch(options, handler);
        async function* paced() {
          let piece = 0;
          for await (const chunk of source as Readable) {
            await new Promise((resolve) => setTimeout(resolve, pauseMs(piece++)));
            yield chunk as Buffer;
          }
        }
        return dispatch(
          { ...options, body: Readable.from(paced(), { objectMode: false }) },
          handler,
        );
      };
    const content = seededBytes("client-faults-slow-upload", 8 * 64 * 1024);
    // Eight pieces 100 ms apart: longer than timeoutMs in all, but never silent that long.
    const slow = client({
      registry: registry.url,
      timeoutMs: 500,
      dispatcher: agent.compose(slowLink(() => 100)),
    });
    expect((await slow.pushBlob("faults/slow", content)).outcome).toBe("uploaded");
    expect(
      await client({ registry: registry.url }).headBlob("faults/slow", computeDigest(content)),
    ).toEqual({
      digest: computeDigest(content),
      size: content.length,
    });

    const stalled = client({
      registry: registry.url,
      timeoutMs: 500,
      retry: { retries: 0 },
      dispatcher: agent.compose(slowLink((piece) => (piece === 3 ? 2000 : 0))),
    });
    const other = seededBytes("client-faults-stalled-upload", 8 * 64 * 1024);
    const error = await errorOf(stalled.pushBlob("faults/slow", other));
    expect(RegistryClientError.isInstance(error) && error.code).toBe("TIMEOUT");
  });

  it("stops at once when the caller aborts, before or during a download", async () => {
    const abortable = proxiedClient();
    const error = await errorOf(
      abortable.headBlob("faults/app", digest, { signal: AbortSignal.abort() }),
    );
    expect(RegistryClientError.isInstance(error) && error.code).toBe("ABORTED");

    proxy.setFault({ method: "GET", path: blobPath, throttleBytesPerSecond: 50_000, times: 1 });
    const controller = new AbortController();
    const download = await abortable.getBlob("faults/app", digest, { signal: controller.signal });
    const reading = readAll(
      download.stream.on("data", () => controller.abort(new Error("caller changed its mind"))),
    );
    const streamError = await errorOf(reading);
    expect(RegistryClientError.isInstance(streamError) && streamError.code).toBe("ABORTED");
  });
});

describe("cross-origin redirects against a fake redirecting registry and a fake storage host", () => {
  let registryServer: Server | undefined;
  let storageServer: Server | undefined;
  let registryUrl: string;
  let storageUrl: string;
  const content = Buffer.from("layer bytes served from object storage");
  const digest = computeDigest(content);
  const seenByStorage: IncomingHttpHeaders[] = [];
  const seenByRegistry: IncomingHttpHeaders[] = [];
  const credentials = { username: "redirect-user", password: "redirect-secret-password" };
  const expectedAuthorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;

  beforeAll(async () => {
    storageServer = createServer((request, response) => {
      seenByStorage.push(request.headers);
      response.writeHead(200, { "content-length": String(content.length) });
      response.end(content);
    });
    storageUrl = await listen(storageServer);
    registryServer = createServer((request, response) => {
      seenByRegistry.push(request.headers);
      if (request.headers.authorization !== expectedAuthorization) {
        response.writeHead(401, { "www-authenticate": 'Basic realm="fake"' });
        response.end();
        return;
      }
      if (request.url === `/v2/app/blobs/${digest}`) {
        // A same-origin hop first (kept authorization), then off to storage with a signed URL.
        response.writeHead(307, { location: `/storage-redirect/${digest}` });
        response.end();
        return;
      }
      if (request.url === `/storage-redirect/${digest}`) {
        response.writeHead(302, {
          location: `${storageUrl}/bucket/${digest}?X-Amz-Signature=secret-signature`,
        });
        response.end();
        return;
      }
      response.writeHead(404);
      response.end();
    });
    registryUrl = await listen(registryServer);
  });
  afterAll(async () => {
    await close(registryServer);
    await close(storageServer);
  });

  it("keeps Authorization on a same-origin hop and drops it on the hop to the storage host", async () => {
    const lines: string[] = [];
    const record = (fields: Record<string, unknown>, message: string) => {
      lines.push(`${message} ${JSON.stringify(fields)}`);
    };
    const logger: Logger = { debug: record, info: record, warn: record, error: record };
    const redirected = client({ registry: registryUrl, credentials, logger });
    const download = await redirected.getBlob("app", digest);
    expect((await readAll(download.stream)).equals(content)).toBe(true);
    expect(seenByRegistry.map((headers) => headers.authorization)).toEqual([
      undefined,
      expectedAuthorization,
      expectedAuthorization,
    ]);
    expect(seenByStorage).toHaveLength(1);
    expect(seenByStorage[0]?.authorization).toBeUndefined();
    expect(lines.join("\n")).not.toContain("secret-signature");
    expect(lines.join("\n")).not.toContain(credentials.password);
  });
});
