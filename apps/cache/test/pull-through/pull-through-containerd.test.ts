import {
  buildTestImage,
  type Containerd,
  type FaultProxy,
  hostPlatform,
  makeTempDirectory,
  pushTestImage,
  startContainerd,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CacheUnderTest,
  type ProxiedCache,
  startProxiedCache,
  writeHostsToml,
} from "./pull-through-harness.js";

describe("containerd pulling through the cache (hosts.toml, ?ns=)", () => {
  let proxied: ProxiedCache;
  let upstream: UpstreamRegistry;
  let proxy: FaultProxy;
  let cache: CacheUnderTest;
  let containerd: Containerd;
  let hostsDir: string;
  let single: TestImage;
  let multi: TestImage;

  beforeAll(async () => {
    // No default upstream: only the ns that containerd sends can route these pulls.
    proxied = await startProxiedCache({ hosts: ["registry.test"], defaultUpstream: null });
    ({ upstream, proxy, cache } = proxied);
    containerd = await startContainerd();
    hostsDir = makeTempDirectory("regmirror-hosts-");
    writeHostsToml(hostsDir, "registry.test", cache.url);
    single = await buildTestImage({ seed: "containerd-single", layers: [2_000, 40_000] });
    multi = await buildTestImage({
      seed: "containerd-multi",
      layers: [3_000],
      platforms: [hostPlatform(), { os: "linux", architecture: "s390x" }],
    });
    await pushTestImage(single, upstream, "team/app", { tag: "v1" });
    await pushTestImage(multi, upstream, "team/multi", { tag: "v1" });
  });

  afterAll(async () => {
    await containerd?.stop();
    await proxied?.stop();
  });

  it("pulls single- and multi-platform images with upstream's digests", async () => {
    await containerd.pull("registry.test/team/app:v1", { hostsDir });
    await containerd.pull("registry.test/team/multi:v1", { hostsDir });
    const images = await containerd.listImages();
    expect(images).toContainEqual({
      name: "registry.test/team/app:v1",
      digest: single.digest,
      mediaType: single.mediaType,
    });
    expect(images).toContainEqual({
      name: "registry.test/team/multi:v1",
      digest: multi.digest,
      mediaType: multi.mediaType,
    });
    expect(
      proxy.requests().some((request) => request.path.startsWith("/v2/team/app/manifests/v1")),
    ).toBe(true);
  });

  it("pulls again after the image is removed without asking upstream for any blob", async () => {
    await containerd.ctr(["images", "rm", "--sync", "registry.test/team/app:v1"]);
    proxy.resetCounts();
    const hitsBefore = cache.metrics.total("cacheHit:blob");
    await containerd.pull("registry.test/team/app:v1", { hostsDir });
    const images = await containerd.listImages();
    expect(images).toContainEqual({
      name: "registry.test/team/app:v1",
      digest: single.digest,
      mediaType: single.mediaType,
    });
    expect(proxy.requestCount(/\/blobs\//)).toBe(0);
    // Config and layers came from the cache: containerd had removed its own copies.
    const blobCount = (single.manifests[0]?.layerDigests.length ?? 0) + 1;
    expect(cache.metrics.total("cacheHit:blob") - hitsBefore).toBe(blobCount);
  });
});
