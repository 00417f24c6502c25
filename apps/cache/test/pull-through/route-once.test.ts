// A request's repository is routed to its upstream once (ADR 0028), by the daemon's resolveRoute
// stage: pass-through auth and the storage use that outcome. The router is the storage's own,
// wrapped to count its calls.
import { silentLogger } from "@regmirror/core";
import { buildTestImage, pushTestImage, type TestImage } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPassThroughClientAuth } from "../../src/auth/pass-through-client-auth.js";
import { fetchAll, type ProxiedCache, sha256, startProxiedCache } from "./pull-through-harness.js";

describe("a pull routes its repository once, through pass-through auth and the storage", () => {
  let proxied: ProxiedCache;
  let image: TestImage;
  const routed: string[] = [];

  beforeAll(async () => {
    // The upstream lets anyone pull: pass-through auth asks it, without credentials, and it says yes.
    proxied = await startProxiedCache({
      hosts: ["registry.test"],
      defaultUpstream: null,
      clientAuth: (storage) =>
        createPassThroughClientAuth({
          router: storage.router,
          decisionTtlMs: 60_000,
          realm: "test",
          logger: silentLogger,
        }),
    });
    image = await buildTestImage({ seed: "route-once", layers: [2_000] });
    await pushTestImage(image, proxied.upstream, "team/app", { tag: "v1" });
    const { router } = proxied.cache.storage;
    const route = router.route.bind(router);
    router.route = (repositoryPath) => {
      routed.push(repositoryPath);
      return route(repositoryPath);
    };
  });

  afterAll(() => proxied?.stop());

  it("a blob GET named with ?ns= is routed once and served", async () => {
    const layer = image.manifests[0]?.layerDigests[0] ?? "";
    routed.length = 0;
    const blob = await fetchAll(`${proxied.cache.url}/v2/team/app/blobs/${layer}?ns=registry.test`);
    expect(blob.status).toBe(200);
    expect(sha256(blob.body)).toBe(layer);
    expect(routed).toEqual(["registry.test/team/app"]);
  });

  it("a registry that is not configured is refused once, as before, by pass-through auth", async () => {
    routed.length = 0;
    const refused = await fetchAll(`${proxied.cache.url}/v2/team/app/manifests/v1?ns=other.test`);
    expect(refused.status).toBe(403);
    expect(routed).toEqual([]);
    const unrouted = await fetchAll(`${proxied.cache.url}/v2/other.test/team/app/manifests/v1`);
    expect(unrouted.status).toBe(403);
    expect(JSON.parse(unrouted.body.toString("utf8")).errors[0].code).toBe("DENIED");
    expect(routed).toEqual(["other.test/team/app"]);
  });
});
