import { createHash } from "node:crypto";
import { request } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  buildTestImage,
  type FaultProxy,
  type FaultRule,
  pushTestImage,
  registryAccess,
  skopeoPull,
  startFaultProxy,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "../src/index.js";

interface Received {
  status: number;
  body: Buffer;
  /** Set when the connection broke before the body was complete. */
  error?: Error;
}

/** GET that keeps whatever arrived, also when the connection breaks. */
async function get(url: string, options: { abortAfterMs?: number } = {}): Promise<Received> {
  return await new Promise<Received>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let finish: ((error?: Error) => void) | undefined;
    const req = request(url, (response) => {
      const done = (error?: Error) =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks),
          ...(error ? { error } : {}),
        });
      finish = done;
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("end", () => done());
      response.once("error", done);
      response.once("aborted", () => done(new Error("aborted")));
      if (options.abortAfterMs !== undefined) {
        setTimeout(() => response.destroy(new Error("client gave up")), options.abortAfterMs);
      }
    });
    // Bytes after a complete response (a server that sent more than it declared) fail the
    // parser: the response is kept, the error noted.
    req.once("error", (error) => (finish ? finish(error) : reject(error)));
    req.end();
  });
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

describe("fault proxy in front of a real registry (fault injection: the registry cannot fail on demand)", () => {
  let registry: UpstreamRegistry;
  let proxy: FaultProxy;
  let image: TestImage;
  let layerDigest: string;
  let layerBytes: Buffer;
  let blobPath: string;

  beforeAll(async () => {
    registry = await startUpstreamRegistry();
    proxy = await startFaultProxy({ target: registry.url });
    image = await buildTestImage({ seed: "fault-proxy", layers: [20_000] });
    await pushTestImage(image, registry, "faults/app");
    layerDigest = image.manifests[0]?.layerDigests[0] ?? "";
    layerBytes = image.blobs.get(layerDigest) ?? Buffer.alloc(0);
    blobPath = `/v2/faults/app/blobs/${layerDigest}`;
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => {
    proxy.setFault(undefined);
    proxy.resetCounts();
  });

  it("forwards requests unchanged when no fault is set, and counts them by path", async () => {
    const received = await get(`${proxy.url}${blobPath}`);
    expect(received.status).toBe(200);
    expect(sha256(received.body)).toBe(layerDigest);
    await get(`${proxy.url}${blobPath}`);
    expect(proxy.requestCounts().get(blobPath)).toBe(2);
    expect(proxy.requestCount(/\/blobs\//)).toBe(2);
  });

  it("lets skopeo pull through it with equal digests", async () => {
    const pulled = await skopeoPull(`${proxy.host}/faults/app:latest`, registryAccess(registry));
    expect(pulled.digest).toBe(image.digest);
    expect(proxy.requestCount(/\/manifests\//)).toBeGreaterThan(0);
  });

  it("answers a chosen status without contacting the server, for `times` requests only", async () => {
    proxy.setFault({ path: /\/blobs\//, status: 503, times: 1 });
    const first = await get(`${proxy.url}${blobPath}`);
    expect(first.status).toBe(503);
    expect(JSON.parse(first.body.toString("utf8")).errors[0].code).toBe("UNAVAILABLE");
    const second = await get(`${proxy.url}${blobPath}`);
    expect(second.status).toBe(200);
    expect(sha256(second.body)).toBe(layerDigest);
  });

  it("sends the rule's extra headers with a status answer, as a rate limiter sends Retry-After", async () => {
    proxy.setFault({ path: /\/blobs\//, status: 429, headers: { "retry-after": "7" }, times: 1 });
    const limited = await fetch(`${proxy.url}${blobPath}`);
    expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "7"]);
    await limited.arrayBuffer();
    const passed = await fetch(`${proxy.url}${blobPath}`);
    expect([passed.status, passed.headers.get("retry-after")]).toEqual([200, null]);
    expect(sha256(Buffer.from(await passed.arrayBuffer()))).toBe(layerDigest);
    const [first, second] = proxy.requests();
    expect((second?.at ?? 0) >= (first?.at ?? Number.POSITIVE_INFINITY)).toBe(true);
  });

  it("refuses a rule it could not apply with BAD_INPUT, keeping the rule it had", async () => {
    const rules: FaultRule[] = [
      { status: 429, headers: { "retry-after": "1\r\nx-injected: yes" } },
      { status: 429, headers: { "bad header": "1" } },
      { headers: { "bad header": "1" } },
      { status: 42 },
    ];
    for (const rule of rules) {
      expect(() => proxy.setFault(rule)).toThrow(expect.objectContaining({ code: "BAD_INPUT" }));
    }
    expect((await get(`${proxy.url}${blobPath}`)).status).toBe(200);
  });

  it("adds a rule's headers to the real answer when it sets no status (Docker Hub's rate-limit headers)", async () => {
    proxy.setFault({ path: /\/blobs\//, headers: { "ratelimit-remaining": "76;w=21600" } });
    try {
      const response = await fetch(`${proxy.url}${blobPath}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("ratelimit-remaining")).toBe("76;w=21600");
      expect(response.headers.get("docker-content-digest")).not.toBeNull();
      await response.arrayBuffer();
    } finally {
      proxy.setFault(undefined);
    }
  });

  it("applies a rule only to the method and path it matches", async () => {
    proxy.setFault({ method: "HEAD", path: /\/blobs\//, status: 500 });
    const response = await get(`${proxy.url}${blobPath}`);
    expect(response.status).toBe(200);
    proxy.setFault({ path: /\/manifests\//, status: 404 });
    expect((await get(`${proxy.url}${blobPath}`)).status).toBe(200);
  });

  it("cuts the connection after N body bytes", async () => {
    proxy.setFault({ path: /\/blobs\//, cutAfterBytes: 1000 });
    const received = await get(`${proxy.url}${blobPath}`);
    expect(received.status).toBe(200);
    expect(received.error).toBeDefined();
    expect(received.body.length).toBe(1000);
    expect(received.body.equals(layerBytes.subarray(0, 1000))).toBe(true);
  });

  it("corrupts the byte at offset N and nothing else", async () => {
    proxy.setFault({ path: /\/blobs\//, corruptByteAt: 4321 });
    const received = await get(`${proxy.url}${blobPath}`);
    expect(received.body.length).toBe(layerBytes.length);
    expect(sha256(received.body)).not.toBe(layerDigest);
    const differing = [...received.body.keys()].filter(
      (index) => received.body[index] !== layerBytes[index],
    );
    expect(differing).toEqual([4321]);
  });

  it("delays a response so that a client with a shorter deadline gives up", async () => {
    proxy.setFault({ path: /\/blobs\//, delayMs: 2_000 });
    await expect(
      fetch(`${proxy.url}${blobPath}`, { signal: AbortSignal.timeout(100) }),
    ).rejects.toThrow(/abort|timeout/i);
    proxy.setFault({ path: /\/blobs\//, delayMs: 50 });
    const received = await get(`${proxy.url}${blobPath}`);
    expect(sha256(received.body)).toBe(layerDigest);
  });

  it("throttles a body so that an early reader has only part of it, and a patient one all of it", async () => {
    proxy.setFault({ path: /\/blobs\//, throttleBytesPerSecond: 4_000 });
    const early = await get(`${proxy.url}${blobPath}`, { abortAfterMs: 500 });
    expect(early.body.length).toBeGreaterThan(0);
    expect(early.body.length).toBeLessThan(layerBytes.length);
    proxy.setFault({ path: /\/blobs\//, throttleBytesPerSecond: 200_000 });
    const patient = await get(`${proxy.url}${blobPath}`);
    expect(sha256(patient.body)).toBe(layerDigest);
  });

  it("breaks the framing: Content-Length too long or too short, a chunked body ended early", async () => {
    proxy.setFault({ path: /\/blobs\//, framing: "content-length-long" });
    const long = await get(`${proxy.url}${blobPath}`);
    expect(long.error).toBeDefined();
    expect(long.body.equals(layerBytes)).toBe(true);

    proxy.setFault({ path: /\/blobs\//, framing: "content-length-short" });
    const short = await get(`${proxy.url}${blobPath}`);
    expect(short.status).toBe(200);
    // What a client reads is the declared half at most (its parser fails on the rest).
    expect(short.body.length).toBeLessThanOrEqual(Math.floor(layerBytes.length / 2));
    expect(short.body.equals(layerBytes.subarray(0, short.body.length))).toBe(true);

    proxy.setFault({ path: /\/blobs\//, framing: "chunked-short" });
    const chunked = await get(`${proxy.url}${blobPath}`);
    expect(chunked.error).toBeUndefined();
    expect(chunked.body.equals(layerBytes.subarray(0, Math.floor(layerBytes.length * 0.9)))).toBe(
      true,
    );
  });

  it("sends an oversized body only as fast as the client reads it", async () => {
    proxy.setFault({ path: /\/blobs\//, oversizedBody: { bytes: 200 * 1024 * 1024 } });
    const response = await fetch(`${proxy.url}${blobPath}`);
    expect(response.headers.get("content-length")).toBe(String(200 * 1024 * 1024));
    const reader = response.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    const sent = proxy.requests().at(-1)?.bodyBytesSent ?? 0;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });

  it("redirects to another origin and records the headers each request came with", async () => {
    const storage = await startFaultProxy({ target: registry.url });
    try {
      proxy.setFault({ path: /\/blobs\//, redirectTo: storage.url });
      const received = await fetch(`${proxy.url}${blobPath}`, {
        headers: { authorization: "Bearer secret-token" },
      });
      expect(sha256(Buffer.from(await received.arrayBuffer()))).toBe(layerDigest);
      expect(proxy.requests()[0]?.headers.authorization).toBe("Bearer secret-token");
      // fetch drops Authorization on a cross-origin redirect, as every careful client does.
      expect(storage.requests()[0]?.headers.authorization).toBeUndefined();
      expect(() => proxy.setFault({ redirectTo: "not a url" })).toThrow(
        expect.objectContaining({ code: "BAD_INPUT" }),
      );
    } finally {
      await storage.stop();
    }
  });

  it("answers 502 when the server behind it is gone", async () => {
    const lonely = await startFaultProxy({ target: "http://127.0.0.1:1" });
    try {
      expect((await get(`${lonely.url}/v2/`)).status).toBe(502);
    } finally {
      await lonely.stop();
    }
  });
});
