// A storage's blobRedirect: a whole blob GET answered 307 to where the storage says the blob is.
import { randomBytes } from "node:crypto";
import { computeDigest } from "@regmirror/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegistryStorage } from "../src/server/registry-storage.js";
import {
  createExampleRegistry,
  createMemoryStorage,
  type ExampleRegistry,
} from "../src/testing/index.js";

describe("blob redirects (test storage: the memory storage plus a blobRedirect)", () => {
  let registry: ExampleRegistry;
  const redirected = new Set<string>();
  const asked: string[] = [];
  const bytes = randomBytes(10_000);
  const digest = computeDigest(bytes);
  const blobUrl = () => `${registry.url}/v2/team/app/blobs/${digest}`;

  beforeAll(async () => {
    const memory = createMemoryStorage();
    const storage: RegistryStorage = {
      ...memory,
      async blobRedirect(repository, wanted) {
        asked.push(`${repository} ${wanted}`);
        return redirected.has(wanted)
          ? `http://bucket.example/blobs/${wanted}?signed=1`
          : undefined;
      },
    };
    registry = await createExampleRegistry({ storage });
    const pushed = await fetch(`${registry.url}/v2/team/app/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    expect(pushed.status).toBe(201);
  });
  afterAll(async () => {
    await registry?.close();
  });

  it("answers a whole GET with 307 to the storage's URL, naming the digest, with no body", async () => {
    redirected.add(digest);
    const response = await fetch(blobUrl(), { redirect: "manual" });
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe(`http://bucket.example/blobs/${digest}?signed=1`);
    expect(response.headers.get("docker-content-digest")).toBe(digest);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect((await response.arrayBuffer()).byteLength).toBe(0);
    expect(asked.at(-1)).toBe(`team/app ${digest}`);
  });

  it("sends HEAD and ranges itself, without asking the storage for a URL", async () => {
    redirected.add(digest);
    const before = asked.length;
    const head = await fetch(blobUrl(), { method: "HEAD", redirect: "manual" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("10000");
    const range = await fetch(blobUrl(), {
      headers: { Range: "bytes=100-199" },
      redirect: "manual",
    });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
    expect(asked.length).toBe(before);
  });

  it("sends the bytes when the storage gives no URL, and 404 for a blob it does not have", async () => {
    redirected.clear();
    const response = await fetch(blobUrl(), { redirect: "manual" });
    expect(response.status).toBe(200);
    expect(computeDigest(Buffer.from(await response.arrayBuffer()))).toBe(digest);
    const missing = await fetch(
      `${registry.url}/v2/team/app/blobs/${computeDigest(Buffer.from("x"))}`,
      {
        redirect: "manual",
      },
    );
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ errors: [{ code: "BLOB_UNKNOWN" }] });
  });
});
