// The regmirror-cache image run the way users run it: pulled by containerd from a registry and
// started with `ctr run` (runc) on a read-only root, as its own user 65532, with the config file
// mounted read-only where the MSR docs put it and a volume for the store. A real docker-registry
// is its upstream; skopeo pulls through it.
import { chown, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  buildTestImage,
  httpGetStatus,
  makeTempDirectory,
  pushTestImage,
  type RunningContainer,
  removeTempDirectory,
  runContainer,
  skopeoPull,
  startPausedDownload,
  type TestImage,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nonRootId } from "../src/index.js";
import { type ImageHost, startImageHost, startOnFreePort, waitForHttp200 } from "./image-host.js";
import { imageUnderTest } from "./images-under-test.js";

// Long enough for the SIGTERM test's steps on a busy machine (the signal through ctr, seeing the
// listener close, then the rest of a 16 MB download): the cache exits as soon as the download
// ends, so a long drain costs nothing, and a short one would cut the download by chance.
const drainTimeoutSeconds = 90;

let host: ImageHost;
let directory: string;
let cache: RunningContainer;
let cacheUrl: string;
let upstreamImage: TestImage;

/** The task's process on this machine, from `ctr tasks list` (TASK PID STATUS). */
async function containerPid(id: string): Promise<number> {
  const listing = await host.containerd.ctr(["tasks", "list"]);
  const line = listing.split("\n").find((candidate) => candidate.startsWith(`${id} `));
  const pid = Number(line?.trim().split(/\s+/)[1]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no running task ${id}:\n${listing}`);
  return pid;
}

/** Every file under a directory, with its owner. */
async function filesUnder(root: string): Promise<{ path: string; uid: number; gid: number }[]> {
  const found: { path: string; uid: number; gid: number }[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const stats = await stat(path);
    found.push({ path, uid: stats.uid, gid: stats.gid });
  }
  return found;
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-cache-image-");
  host = await startImageHost(["regmirror-cache"]);
  // 16 MB: more than the loopback socket buffers hold, so a paused client keeps it in flight.
  upstreamImage = await buildTestImage({
    seed: "cache-image",
    layers: [2048, 16_000_000],
    tag: "v1",
  });
  await pushTestImage(upstreamImage, host.registry, "team/app");

  await mkdir(join(directory, "store"));
  await chown(join(directory, "store"), nonRootId, nonRootId);
  [cache, cacheUrl] = await startOnFreePort("the cache container", async (port) => {
    // distribution's proxy form, as a user moving from `registry:2` writes it.
    await writeFile(
      join(directory, "config.yml"),
      [
        "version: 0.1",
        "http:",
        `  addr: 127.0.0.1:${port}`,
        `  draintimeout: ${drainTimeoutSeconds}s`,
        "storage:",
        "  filesystem:",
        "    rootdirectory: /var/lib/registry",
        "proxy:",
        `  remoteurl: ${host.registry.url}`,
        "",
      ].join("\n"),
      { mode: 0o644 },
    );
    const container = await runContainer(host.containerd, {
      image: host.references["regmirror-cache"] as string,
      id: "regmirror-cache-under-test",
      readOnlyRootFilesystem: true,
      hostNetwork: true,
      mounts: [
        { source: join(directory, "config.yml"), destination: "/config.yml", readOnly: true },
        { source: join(directory, "store"), destination: "/var/lib/registry" },
      ],
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp200("the cache container", `${url}/readyz`, container);
    return [container, url] as const;
  });
  // Pushing the image (both platforms), pulling it and starting it: minutes on a busy machine.
}, 300_000);

afterAll(async () => {
  await cache?.stop();
  await host?.stop();
  if (directory) await removeTempDirectory(directory);
});

describe("the regmirror-cache image under containerd", () => {
  it("is the index the build made, run as 65532:65532 on a read-only root", async () => {
    const image = await imageUnderTest("regmirror-cache");
    const held = (await host.containerd.listImages()).find(
      (candidate) => candidate.name === host.references["regmirror-cache"],
    );
    expect(held?.digest).toBe(image.index.digest);

    const pid = await containerPid("regmirror-cache-under-test");
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
    expect(status).toMatch(/^Gid:\s+65532\s+65532\s+65532\s+65532$/m);
    const rootMount = (await readFile(`/proc/${pid}/mountinfo`, "utf8"))
      .split("\n")
      .map((line) => line.split(" "))
      .find((fields) => fields[4] === "/");
    expect(rootMount?.[5]?.split(",")).toContain("ro");
  });

  it("answers /healthz and /readyz", async () => {
    expect(await httpGetStatus(`${cacheUrl}/healthz`)).toBe(200);
    expect(await httpGetStatus(`${cacheUrl}/readyz`)).toBe(200);
  });

  it("serves skopeo an upstream image with its digests, storing it in the mounted volume as 65532", async () => {
    const pulled = await skopeoPull(`${new URL(cacheUrl).host}/team/app:v1`, { tlsVerify: false });
    expect(pulled.digest).toBe(upstreamImage.digest);
    for (const layer of upstreamImage.manifests[0]?.layerDigests ?? []) {
      const bytes = await readFile(join(pulled.directory, layer.replace("sha256:", "")));
      expect(bytes.length).toBe(upstreamImage.blobs.get(layer)?.length);
    }
    const stored = await filesUnder(join(directory, "store"));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((file) => file.uid !== nonRootId || file.gid !== nonRootId)).toEqual([]);
  });

  it("on SIGTERM refuses new connections, finishes the download in flight and exits 0 within the drain timeout", async () => {
    const layer = upstreamImage.manifests[0]?.layerDigests[1] as string;
    const download = await startPausedDownload(`${cacheUrl}/v2/team/app/blobs/${layer}`);
    expect(download.status).toBe(200);

    await cache.signal("SIGTERM");
    // Draining: the listener is closed, so a new connection is refused.
    await expect
      .poll(
        () => httpGetStatus(`${cacheUrl}/readyz`).then(String, (error: Error) => error.message),
        { timeout: 30_000 },
      )
      .toMatch(/ECONNREFUSED/);
    expect(cache.exitCode()).toBeUndefined();

    // The cache cuts what is still open when the drain timeout ends: a whole body means the
    // download finished within it.
    expect(await download.resume()).toBe(layer);
    expect(await cache.exited).toBe(0);
  }, 180_000);
});
