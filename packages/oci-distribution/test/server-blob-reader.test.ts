import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { BlobReader } from "@regmirror/core";
import { computeDigest } from "@regmirror/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegistryStorage } from "../src/server/registry-storage.js";
import {
  createExampleRegistry,
  createMemoryStorage,
  type ExampleRegistry,
} from "../src/testing/index.js";

/** What the storage saw of each reader the server used. */
interface ReaderLog {
  digest: string;
  buffers: Set<Buffer>;
  closed: number;
}

/**
 * A storage that serves blobs through readers (as the cache's store does), reading `step` bytes
 * at most per call. `failAt` makes a blob's reader fail after that many bytes (a disk error);
 * `slow` makes each read wait, so a client can leave mid-body.
 */
function readerStorage(
  blobs: Map<string, Buffer>,
  logs: ReaderLog[],
): RegistryStorage & { failAt: Map<string, number>; slow: Set<string> } {
  const storage = createMemoryStorage();
  const failAt = new Map<string, number>();
  const slow = new Set<string>();
  return Object.assign(
    {
      ...storage,
      async statBlob(_repository: string, digest: string) {
        const bytes = blobs.get(digest);
        return bytes === undefined ? undefined : { digest, size: bytes.byteLength };
      },
      async openBlob(_repository: string, digest: string, range?: { start: number; end: number }) {
        const bytes = blobs.get(digest);
        if (bytes === undefined) return undefined;
        const log: ReaderLog = { digest, buffers: new Set(), closed: 0 };
        logs.push(log);
        let position = range?.start ?? 0;
        const end = (range?.end ?? bytes.byteLength - 1) + 1;
        const reader: BlobReader = {
          async read(buffer) {
            log.buffers.add(buffer);
            if (slow.has(digest)) await sleep(20);
            if (position >= (failAt.get(digest) ?? Number.POSITIVE_INFINITY)) {
              throw new Error("disk read failed");
            }
            const copied = bytes.copy(buffer, 0, position, Math.min(end, position + 100_000));
            position += copied;
            return copied;
          },
          async close() {
            log.closed += 1;
          },
        };
        return { digest, size: bytes.byteLength, start: position, end: end - 1, reader };
      },
    },
    { failAt, slow },
  );
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("blob bodies through a reader with the server's reused buffers (test storage: readers on demand)", () => {
  let registry: ExampleRegistry;
  const blobs = new Map<string, Buffer>();
  const logs: ReaderLog[] = [];
  let storage: ReturnType<typeof readerStorage>;
  const put = (size: number) => {
    const bytes = randomBytes(size);
    const digest = computeDigest(bytes);
    blobs.set(digest, bytes);
    return { digest, bytes };
  };
  const blobUrl = (digest: string) => `${registry.url}/v2/any/app/blobs/${digest}`;

  beforeAll(async () => {
    storage = readerStorage(blobs, logs);
    registry = await createExampleRegistry({ storage });
  });
  afterAll(async () => {
    await registry?.close();
  });

  it("sends every byte of 12 concurrent blobs through two buffers per response, then closes each reader", async () => {
    const sent = Array.from({ length: 12 }, (_, index) => put(1_000_000 + index * 333_333));
    const bodies = await Promise.all(
      sent.map(async ({ digest }) => {
        const response = await fetch(blobUrl(digest));
        expect(response.status).toBe(200);
        return Buffer.from(await response.arrayBuffer());
      }),
    );
    bodies.forEach((body, index) => {
      expect(sha256(body)).toBe(sha256(sent[index]?.bytes ?? Buffer.alloc(0)));
    });
    const used = logs.filter((log) => sent.some(({ digest }) => digest === log.digest));
    expect(used).toHaveLength(12);
    for (const log of used) {
      expect(log.buffers.size).toBeLessThanOrEqual(2);
      expect(log.closed).toBe(1);
    }
  });

  it("sends a range through a reader", async () => {
    const { digest, bytes } = put(500_000);
    const response = await fetch(blobUrl(digest), { headers: { Range: "bytes=1000-299999" } });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe("bytes 1000-299999/500000");
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.equals(bytes.subarray(1000, 300_000))).toBe(true);
  });

  it("cuts the connection when the reader fails mid-body, and closes the reader", async () => {
    const { digest } = put(1_000_000);
    storage.failAt.set(digest, 300_000);
    const response = await fetch(blobUrl(digest));
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
    const log = logs.find((entry) => entry.digest === digest);
    await expect.poll(() => log?.closed).toBe(1);
  });

  it("closes the reader when the client goes away mid-body", async () => {
    const { digest } = put(5_000_000);
    storage.slow.add(digest);
    await new Promise<void>((resolve, reject) => {
      const outgoing = request(blobUrl(digest), (incoming) => {
        incoming.once("data", () => {
          outgoing.destroy();
          resolve();
        });
      });
      outgoing.on("error", (error) => {
        if (!outgoing.destroyed) reject(error);
      });
      outgoing.end();
    });
    const log = logs.find((entry) => entry.digest === digest);
    await expect.poll(() => log?.closed).toBe(1);
  });
});
