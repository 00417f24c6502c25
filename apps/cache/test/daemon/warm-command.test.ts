// `regmirror-cache warm` (the production bundle) prefetches every platform of an image into the
// store; a cache started afterwards on that store serves the image with the upstream stopped,
// and a warm while that cache runs is refused (one process owns a filesystem store).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildTestImage,
  makeTempDirectory,
  pushTestImage,
  removeTempDirectory,
  skopeoPull,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type CacheProcess, runBundle, startCacheProcess } from "./cache-process.js";
import { buildProductionBundle } from "./production-bundle.js";

let directory: string;
let bundle: string;
let upstream: UpstreamRegistry;
let image: TestImage;
let configFile: string;
let cache: CacheProcess | undefined;

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-cache-warm-");
  [bundle, upstream] = await Promise.all([buildProductionBundle(), startUpstreamRegistry()]);
  image = await buildTestImage({
    seed: "daemon-warm",
    layers: [3000, 5000],
    platforms: [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ],
  });
  await pushTestImage(image, upstream, "team/warm");
  // The distribution proxy form, unchanged but for the addresses.
  configFile = join(directory, "config.yml");
  writeFileSync(
    configFile,
    `version: 0.1
storage:
  filesystem:
    rootdirectory: ${join(directory, "data")}
http:
  addr: 127.0.0.1:0
proxy:
  remoteurl: ${upstream.url}
  ttl: 168h
`,
  );
});

afterAll(async () => {
  await cache?.stop();
  await upstream?.stop();
  if (directory) await removeTempDirectory(directory);
});

let blobs: Set<string>;

test("warm prefetches all platforms, printing one line per blob when not on a terminal", async () => {
  const result = await runBundle(
    bundle,
    ["warm", "--config", configFile, `${upstream.host}/team/warm:${image.tag}`],
    directory,
  );
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);
  blobs = new Set(
    image.manifests.flatMap((manifest) => [manifest.configDigest, ...manifest.layerDigests]),
  );
  const blobLines = result.stdout
    .split("\n")
    .filter((line) => / downloaded \(\d+\/\d+ blobs\)$/.test(line));
  expect(blobLines).toHaveLength(blobs.size);
  expect(blobLines.at(-1)).toContain(`(${blobs.size}/${blobs.size} blobs)`);
  expect(result.stdout).toContain(
    `cached ${image.digest} (${image.manifests.length + 1} manifests, ${blobs.size} blobs: ${blobs.size} downloaded (`,
  );
});

test("warm again downloads nothing and says every blob was already cached", async () => {
  const result = await runBundle(
    bundle,
    ["warm", "--config", configFile, `${upstream.host}/team/warm:${image.tag}`],
    directory,
  );
  expect(result.exitCode).toBe(0);
  expect(result.stdout).not.toContain(" downloaded (");
  expect(result.stdout).toContain(`blobs: none downloaded, ${blobs.size} already cached)`);
});

test("warm of an image that does not exist fails with exit code 1 and says which", async () => {
  const result = await runBundle(
    bundle,
    ["warm", "-c", configFile, `${upstream.host}/team/absent:v1`],
    directory,
  );
  expect(result.exitCode).toBe(1);
  // The reference once, then why.
  expect(result.stderr).toBe(
    `${upstream.host}/team/absent:v1: no such manifest (the tag or digest is not upstream)\n`,
  );
});

test("after warm, the cache serves every platform with the upstream stopped", async () => {
  await upstream.stop();
  cache = await startCacheProcess(bundle, [configFile], directory);
  const pulled = await skopeoPull(`${new URL(cache.url).host}/team/warm:${image.tag}`, {
    tlsVerify: false,
  });
  expect(pulled.digest).toBe(image.digest);

  // One process owns a filesystem store: warm while serve runs is refused, naming the holder.
  const refused = await runBundle(
    bundle,
    ["warm", "--config", configFile, `${upstream.host}/team/warm:${image.tag}`],
    directory,
  );
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr).toContain(
    `regmirror-cache warm: cannot open the store: the store ${join(directory, "data")} is in use by regmirror-cache serve (pid `,
  );
  expect(await cache.stop()).toBe(0);
});
