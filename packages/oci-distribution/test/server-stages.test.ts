// The handler's stages: the route resolved and authorized before the endpoint, without touching
// the request, and every refusal answered as the OCI error JSON.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryError } from "../src/model/errors.js";
import { createRegistryHandler, type RegistryHandler } from "../src/server/registry-handler.js";
import type { RegistryRoute } from "../src/server/registry-route.js";
import { createMemoryStorage } from "../src/testing/index.js";
import { errorCodeOf, pushBlob } from "./registry-fixtures.js";

describe("registry handler stages", () => {
  let server: Server;
  let handler: RegistryHandler;
  let base: string;
  let blob: string;
  const seen: { url: string | undefined; route: RegistryRoute }[] = [];

  beforeAll(async () => {
    const storage = createMemoryStorage();
    handler = createRegistryHandler({
      storage,
      // `?tenant=a` names the repository prefix, as a mirror's `?ns=` names a registry.
      resolveRoute({ route, query }) {
        const tenant = query.get("tenant");
        if (tenant === "unknown") throw new RegistryError("DENIED", { message: "no such tenant" });
        if (tenant === null || !("repository" in route)) return route;
        return { ...route, repository: `${tenant}/${route.repository}` };
      },
      authorize({ request, route }) {
        seen.push({ url: request.url, route });
        if (request.headers.authorization !== "Bearer ok") {
          throw new RegistryError("UNAUTHORIZED", {
            responseHeaders: { "WWW-Authenticate": 'Bearer realm="test"' },
          });
        }
      },
    });
    server = createServer((request, response) => void handler(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Pushed with the storage's own names, behind the stages: the tenant is part of the name.
    const open = createServer(
      (request, response) => void createRegistryHandler({ storage })(request, response),
    );
    await new Promise<void>((resolve) => open.listen(0, "127.0.0.1", resolve));
    blob = await pushBlob(
      `http://127.0.0.1:${(open.address() as AddressInfo).port}`,
      "a/app",
      Buffer.from("tenant a's layer"),
    );
    await new Promise<void>((resolve) => open.close(() => resolve()));
  });

  afterAll(async () => {
    await handler?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it("serves the route resolveRoute returned, and the request URL stays as the client sent it", async () => {
    seen.length = 0;
    const url = `/v2/app/blobs/${blob}?tenant=a`;
    const response = await fetch(`${base}${url}`, { headers: { Authorization: "Bearer ok" } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("tenant a's layer");
    expect(seen).toEqual([{ url, route: { endpoint: "blob", repository: "a/app", digest: blob } }]);
  });

  it("answers a refusal of authorize with its OCI error and headers, before the endpoint", async () => {
    const response = await fetch(`${base}/v2/app/blobs/${blob}?tenant=a`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="test"');
    expect(await errorCodeOf(response)).toBe("UNAUTHORIZED");
  });

  it("answers a refusal of resolveRoute before authorize runs", async () => {
    seen.length = 0;
    const response = await fetch(`${base}/v2/app/blobs/${blob}?tenant=unknown`, {
      headers: { Authorization: "Bearer ok" },
    });
    expect(response.status).toBe(403);
    expect(await errorCodeOf(response)).toBe("DENIED");
    expect(seen).toEqual([]);
  });

  it("answers a path that is no endpoint with 404 before any stage", async () => {
    seen.length = 0;
    const response = await fetch(`${base}/v2/app/nothing-here`, {
      headers: { Authorization: "Bearer ok" },
    });
    expect(response.status).toBe(404);
    expect(await errorCodeOf(response)).toBe("UNSUPPORTED");
    expect(seen).toEqual([]);
  });
});
