// containerd 2 (built from the Go module proxy by the test command, scripts/go-tools.json)
// started by the kit with its own config `version = 3`, next to Debian's 1.6 (containerd.test.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTestImage,
  type Containerd,
  makeTempDirectory,
  pushTestImage,
  startContainerd,
  startUpstreamRegistry,
  type UpstreamRegistry,
} from "../src/index.js";
import { expectPulledAndUnpacked } from "./expect-unpacked.js";

describe("startContainerd({ release: '2' })", () => {
  let registry: UpstreamRegistry;
  let containerd: Containerd;
  let hostsDir: string;
  beforeAll(async () => {
    registry = await startUpstreamRegistry();
    containerd = await startContainerd({ release: "2" });
    hostsDir = makeTempDirectory("regmirror-hosts-");
    mkdirSync(join(hostsDir, "registry.example.test"), { recursive: true });
    writeFileSync(
      join(hostsDir, "registry.example.test", "hosts.toml"),
      `server = "https://registry.example.test"\n\n[host."${registry.url}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
  });
  afterAll(async () => {
    await containerd?.stop();
    await registry?.stop();
  });

  it("runs containerd 2 and its ctr", async () => {
    expect(containerd.version).toMatch(/^2\./);
    const version = await containerd.ctr(["version"]);
    expect(version).toMatch(/Server:\s+Version:\s+v2\./);
  });

  it("pulls and unpacks an image from the kit's registry through hosts.toml with the pushed digest", async () => {
    const image = await buildTestImage({ seed: "containerd-2-single", layers: [300, 5000] });
    await pushTestImage(image, registry, "team/app", { tag: "v1" });
    await containerd.pull("registry.example.test/team/app:v1", { hostsDir });
    await expectPulledAndUnpacked(containerd, "registry.example.test/team/app:v1", image, 2);
  });

  it("stops without leaving a process, a mount or its directory behind", async () => {
    const extra = await startContainerd({ release: "2" });
    await extra.pull("registry.example.test/team/app:v1", { hostsDir });
    await extra.stop();
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(extra.rootDirectory);
    expect(existsSync(extra.rootDirectory)).toBe(false);
  });
});
