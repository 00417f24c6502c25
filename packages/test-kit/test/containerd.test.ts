import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTestImage,
  type Containerd,
  hostPlatform,
  makeTempDirectory,
  pushTestImage,
  startContainerd,
  startUpstreamRegistry,
  stopAll,
  type UpstreamRegistry,
} from "../src/index.js";
import { expectPulledAndUnpacked } from "./expect-unpacked.js";

/** A certs.d tree where `mirroredHost` is served by `mirror` (as the node agent will write it). */
function writeMirrorHostsToml(
  hostsDir: string,
  mirroredHost: string,
  mirror: string,
  ca?: string,
): void {
  mkdirSync(join(hostsDir, mirroredHost), { recursive: true });
  const lines = [
    `server = "https://${mirroredHost}"`,
    "",
    `[host."${mirror}"]`,
    '  capabilities = ["pull", "resolve"]',
  ];
  if (ca !== undefined) {
    writeFileSync(join(hostsDir, mirroredHost, "mirror-ca.crt"), ca);
    lines.push(`  ca = "${join(hostsDir, mirroredHost, "mirror-ca.crt")}"`);
  }
  writeFileSync(join(hostsDir, mirroredHost, "hosts.toml"), `${lines.join("\n")}\n`);
}

describe("containerd pulling through a hosts.toml mirror entry", () => {
  let registry: UpstreamRegistry;
  let tlsRegistry: UpstreamRegistry;
  let tokenRegistry: UpstreamRegistry;
  let containerd: Containerd;
  let hostsDir: string;
  beforeAll(async () => {
    // Independent of each other: started together.
    [registry, tlsRegistry, tokenRegistry, containerd] = await Promise.all([
      startUpstreamRegistry(),
      startUpstreamRegistry({ tls: true, auth: "htpasswd" }),
      startUpstreamRegistry({
        auth: "token",
        users: [
          {
            username: "puller",
            password: "puller-secret",
            repositories: { "team/*": ["pull", "push"] },
          },
        ],
      }),
      startContainerd(),
    ]);
    hostsDir = makeTempDirectory("regmirror-hosts-");
    writeMirrorHostsToml(hostsDir, "registry.example.test", registry.url);
    writeMirrorHostsToml(hostsDir, "secure.example.test", tlsRegistry.url, tlsRegistry.ca);
    writeMirrorHostsToml(hostsDir, "token.example.test", tokenRegistry.url);
  });
  afterAll(() => stopAll(containerd, registry, tlsRegistry, tokenRegistry));

  it("pulls and unpacks a built image from the mirror with the built digest", async () => {
    const image = await buildTestImage({ seed: "containerd-single", layers: [300, 5000] });
    await pushTestImage(image, registry, "team/app", { tag: "v1" });
    await containerd.pull("registry.example.test/team/app:v1", { hostsDir });
    await expectPulledAndUnpacked(containerd, "registry.example.test/team/app:v1", image, 2);
  });

  it("pulls a multi-platform index, keeping the index digest", async () => {
    const image = await buildTestImage({
      seed: "containerd-multi",
      layers: [200],
      platforms: [hostPlatform(), { os: "linux", architecture: "s390x" }],
    });
    await pushTestImage(image, registry, "team/multi");
    await containerd.pull("registry.example.test/team/multi:latest", { hostsDir });
    const listed = await containerd.listImages();
    expect(
      listed.find((entry) => entry.name === "registry.example.test/team/multi:latest")?.digest,
    ).toBe(image.digest);
  });

  it("pulls over TLS with the mirror's CA from hosts.toml and --user credentials", async () => {
    const image = await buildTestImage({ seed: "containerd-tls", layers: [400] });
    await pushTestImage(image, tlsRegistry, "private/app");
    await containerd.pull("secure.example.test/private/app:latest", {
      hostsDir,
      user: "tester:tester-password",
    });
    const listed = await containerd.listImages();
    expect(
      listed.find((entry) => entry.name === "secure.example.test/private/app:latest")?.digest,
    ).toBe(image.digest);
  });

  it("pulls from a token-auth registry with --user credentials", async () => {
    const image = await buildTestImage({ seed: "containerd-token", layers: [100] });
    await pushTestImage(image, tokenRegistry, "team/private");
    await containerd.pull("token.example.test/team/private:latest", {
      hostsDir,
      user: "puller:puller-secret",
    });
    const listed = await containerd.listImages();
    expect(
      listed.find((entry) => entry.name === "token.example.test/team/private:latest")?.digest,
    ).toBe(image.digest);
    await expect(
      containerd.pull("token.example.test/team/private:latest", { hostsDir }),
    ).rejects.toThrow(/unauthorized|401|authorization/i);
  });

  it("stops without leaving a process or a mount behind", async () => {
    const extra = await startContainerd();
    const rootDirectory = extra.rootDirectory;
    await extra.pull("registry.example.test/team/app:v1", { hostsDir });
    await extra.stop();
    await extra.stop(); // idempotent
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(rootDirectory);
    expect(existsSync(rootDirectory)).toBe(false);
  });
});
