import { Readable } from "node:stream";
import { computeDigest } from "@regmirror/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryError } from "../src/model/errors.js";
import type { RegistryStorage } from "../src/server/registry-storage.js";
import {
  createExampleRegistry,
  createMemoryStorage,
  type ExampleRegistry,
} from "../src/testing/index.js";

const digest = computeDigest("any");

/**
 * A memory storage whose lookups fail the way a pull-through backend's can (upstream down,
 * upstream asks for credentials, a bug, a body cut halfway): faults the real one will not
 * produce on demand.
 */
function faultyStorage(): RegistryStorage {
  const storage = createMemoryStorage();
  return {
    ...storage,
    async getManifest(repository, reference, context) {
      if (repository === "down/app") {
        throw new RegistryError("UNAVAILABLE", {
          message: "upstream unreachable",
          retryAfterSeconds: 30,
        });
      }
      if (repository === "private/app") {
        throw new RegistryError("UNAUTHORIZED", {
          responseHeaders: { "WWW-Authenticate": 'Basic realm="regmirror"' },
        });
      }
      if (repository === "buggy/app") throw new TypeError("cannot read properties of undefined");
      return storage.getManifest(repository, reference, context);
    },
    async statBlob() {
      return { digest, size: 1000 };
    },
    async openBlob() {
      // Announces 1000 bytes, delivers 10, then fails.
      const stream = new Readable({
        read() {
          this.push(Buffer.alloc(10));
          this.destroy(new Error("upstream connection reset"));
        },
      });
      return { digest, size: 1000, stream };
    },
  };
}

describe("server errors from a storage that fails on demand (fake storage: fault injection)", () => {
  let registry: ExampleRegistry;
  beforeAll(async () => {
    registry = await createExampleRegistry({ storage: faultyStorage() });
  });
  afterAll(async () => {
    await registry?.close();
  });

  it("answers a storage's RegistryError as it is, with Retry-After", async () => {
    const response = await fetch(`${registry.url}/v2/down/app/manifests/v1`);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("30");
    expect(await response.json()).toEqual({
      errors: [{ code: "UNAVAILABLE", message: "upstream unreachable" }],
    });
  });

  it("passes the storage's WWW-Authenticate challenge on", async () => {
    const response = await fetch(`${registry.url}/v2/private/app/manifests/v1`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Basic realm="regmirror"');
  });

  it("answers an unexpected storage failure with 500 UNKNOWN and no internals", async () => {
    const response = await fetch(`${registry.url}/v2/buggy/app/manifests/v1`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      errors: [{ code: "UNKNOWN", message: "unknown error" }],
    });
  });

  it("cuts the connection when a blob fails mid-body, so the client never takes it as complete", async () => {
    // Depending on timing the cut comes before or after the headers; either way the read fails.
    const read = fetch(`${registry.url}/v2/any/app/blobs/${digest}`).then((response) =>
      response.arrayBuffer(),
    );
    await expect(read).rejects.toThrow();
    // The registry still serves the next request.
    expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);
  });
});
