// End to end through a real containerd: node-trust writes hosts.toml and the mirror's CA, and
// `ctr images pull` of an upstream image (no --plain-http, no skip-verify) goes to the mirror
// over TLS. The mirror here is a TLS docker-registry holding a copy of the image; the cache
// daemon takes its place once it exists. The upstream sits behind the kit's fault proxy (pass
// mode) so every request that reaches it is counted.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  buildTestImage,
  type Containerd,
  type FaultProxy,
  makeTempDirectory,
  pushTestImage,
  startContainerd,
  startFaultProxy,
  startUpstreamRegistry,
  stopAll,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeTrustApplier } from "../src/node-trust-applier.js";

let upstream: UpstreamRegistry | undefined;
let upstreamCounter: FaultProxy | undefined;
let mirror: UpstreamRegistry | undefined;
let containerd: Containerd | undefined;
let root: string | undefined;
let image: TestImage;
let fallbackImage: TestImage;

beforeAll(async () => {
  upstream = await startUpstreamRegistry();
  upstreamCounter = await startFaultProxy({ target: upstream.url });
  mirror = await startUpstreamRegistry({ tls: true });
  image = await buildTestImage({ seed: "node-trust-e2e", layers: [4096], tag: "v1" });
  fallbackImage = await buildTestImage({
    seed: "node-trust-e2e-fallback",
    layers: [2048],
    tag: "v2",
  });
  await pushTestImage(image, upstream, "e2e/app");
  await pushTestImage(fallbackImage, upstream, "e2e/app");
  await pushTestImage(image, mirror, "e2e/app");
  containerd = await startContainerd();
  root = makeTempDirectory("node-trust-e2e-root-");
  await mkdir(join(root, "etc/containerd"), { recursive: true });
  await writeFile(
    join(root, "etc/containerd/config.toml"),
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
  );
});

afterAll(() => stopAll(containerd, mirror, upstreamCounter, upstream, root));

describe("node-trust with a real containerd", () => {
  it("makes containerd pull an upstream image through the TLS mirror, trusting the CA it installed", async () => {
    if (!root || !upstream || !upstreamCounter || !mirror?.ca || !containerd)
      throw new Error("setup failed");
    const applier = createNodeTrustApplier({ root });
    const result = await applier.apply({
      runtimes: ["containerd"],
      mirrors: [
        {
          name: "test-mirror",
          endpoint: mirror.url,
          registries: [{ host: upstream.host, server: upstreamCounter.url }],
          caPem: mirror.ca,
          dialTimeout: "1s",
        },
      ],
    });
    expect(result.status).toBe("changed");
    expect(result.warnings).toEqual([]);

    upstreamCounter.resetCounts();
    const reference = `${upstream.host}/e2e/app:v1`;
    await containerd.pull(reference, { hostsDir: join(root, "etc/containerd/certs.d") });
    const pulled = (await containerd.listImages()).find((listed) => listed.name === reference);
    expect(pulled?.digest).toBe(image.digest);
    // Served entirely by the mirror: the upstream saw no request at all.
    expect(upstreamCounter.requestCount()).toBe(0);
  });

  it("falls back to the upstream server when the mirror is down", async () => {
    if (!root || !upstream || !upstreamCounter || !mirror || !containerd)
      throw new Error("setup failed");
    await mirror.stop();
    upstreamCounter.resetCounts();
    const reference = `${upstream.host}/e2e/app:v2`;
    await containerd.pull(reference, { hostsDir: join(root, "etc/containerd/certs.d") });
    const pulled = (await containerd.listImages()).find((listed) => listed.name === reference);
    expect(pulled?.digest).toBe(fallbackImage.digest);
    expect(upstreamCounter.requestCount(/\/e2e\/app\/manifests\/v2(\?|$)/)).toBeGreaterThan(0);
  });
});
