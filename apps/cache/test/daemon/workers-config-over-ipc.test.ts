// The other workers take their configuration from the first worker's start message, not from the
// file (docs/adr/0040-memory-per-worker.md): real processes of the production bundle, a real
// docker-registry upstream that wants credentials, htpasswd client auth. The other worker serves
// with the secrets it got over the channel; a start message it cannot use stops it with an
// error naming the key; and it loads none of the configuration's parsers.
import { fork } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import {
  buildTestImage,
  htpasswdFile,
  makeTempDirectory,
  pushTestImage,
  removeTempDirectory,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { configForWorkers } from "../../src/workers/worker-config.js";
import { sha256 } from "../pull-through/pull-through-harness.js";
import {
  type CacheProcess,
  runBundle,
  startCacheWithWorkers,
  workerAnswers,
} from "./cache-process.js";
import { getOnNewConnection } from "./new-connection.js";
import { buildProductionBundle } from "./production-bundle.js";

let directory: string;
let bundle: string;
let upstream: UpstreamRegistry;
let image: TestImage;
let cache: CacheProcess | undefined;

const carol = { username: "carol", password: "carol-password" };
const basic = (user: { username: string; password: string }) => ({
  authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`,
});

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-workers-ipc-");
  [bundle, upstream, image] = await Promise.all([
    buildProductionBundle(),
    startUpstreamRegistry({ auth: "htpasswd" }),
    buildTestImage({ seed: "workers-ipc", layers: [2048, 200 * 1024] }),
  ]);
  await pushTestImage(image, upstream, "team/ipc");
  const mirror = upstream.users[0];
  if (mirror === undefined) throw new Error("the upstream has no user");
  writeFileSync(join(directory, "htpasswd"), htpasswdFile([carol]));
  const configFile = join(directory, "config.yml");
  writeFileSync(
    configFile,
    `http: { addr: "127.0.0.1:0" }
regmirror:
  workers: 2
  upstreams:
    - name: upstream
      endpoints: [${upstream.url}]
      credentials: { username: ${mirror.username}, password: ${mirror.password} }
  storage: { filesystem: { rootDirectory: ${join(directory, "store")} } }
  auth: { mode: htpasswd, htpasswdFile: ${join(directory, "htpasswd")} }
`,
  );
  cache = await startCacheWithWorkers(bundle, configFile, directory);
}, 180_000);

afterAll(async () => {
  await cache?.stop();
  await upstream?.stop();
  if (directory) removeTempDirectory(directory);
});

/** Blob GETs the other worker answered with `status`. */
const otherWorkerAnswers = (status: number) => workerAnswers(cache, "other", "blob", status);

test("the other worker, configured over the channel, serves htpasswd clients what the first fetched with the upstream's credentials", async () => {
  const layer = image.manifests[0]?.layerDigests[1] ?? "";
  const url = `${cache?.url}/v2/team/ipc/blobs/${layer}`;
  // Through the cache with the upstream's credentials (the upstream refuses anyone else).
  const fetched = await getOnNewConnection(url, basic(carol));
  expect(fetched.status).toBe(200);
  expect(sha256(fetched.body)).toBe(layer);

  // New connections until the other worker has served some itself, as carol: its own client
  // auth names the user (the kernel picks the worker; a request it passes to the first, while
  // the blob is not yet in the store, is logged here without one).
  const hits = () =>
    otherWorkerAnswers(200).filter((line) => line.cache === "hit" && line.user === "carol");
  for (let attempt = 0; attempt < 200 && hits().length < 3; attempt += 1) {
    const answer = await getOnNewConnection(url, basic(carol));
    expect(answer.status).toBe(200);
    expect(sha256(answer.body)).toBe(layer);
  }
  expect(hits().length).toBeGreaterThanOrEqual(3);

  const wrong = { ...carol, password: "not-carols-password" };
  for (let attempt = 0; attempt < 200 && otherWorkerAnswers(401).length < 3; attempt += 1) {
    expect((await getOnNewConnection(url, basic(wrong))).status).toBe(401);
    expect((await getOnNewConnection(url)).status).toBe(401);
  }
  expect(otherWorkerAnswers(401).length).toBeGreaterThanOrEqual(3);
  // No secret reaches the log of either worker.
  expect(cache?.stdout()).not.toContain(upstream.users[0]?.password);
}, 120_000);

/** Starts the bundle as the first worker starts another one, and sends it `message`. */
async function otherWorkerGiven(message: unknown) {
  const child = fork(bundle, ["serve"], {
    cwd: directory,
    env: { ...process.env, REGMIRROR_CACHE_OTHER_WORKER: "1" },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const code = await new Promise<number | null>((resolve) => {
    child.once("close", resolve);
    child.send(message as object);
  });
  return { code, stdout, stderr };
}

test("a start message that is not a usable configuration: the worker says which key and exits 1", async () => {
  const config = loadCacheConfigFromYaml(
    `proxy: { remoteurl: ${upstream.url} }\nhttp: { secret: a-secret-of-the-cache-0123456789 }\n`,
  );
  const wire = JSON.parse(JSON.stringify(configForWorkers(config)));
  delete wire.settings.storage;
  const broken = await otherWorkerGiven({
    kind: "start",
    port: 1,
    primarySocket: join(directory, "nowhere.sock"),
    tokenSecret: "token-key",
    config: wire,
  });
  expect(broken.code).toBe(1);
  expect(broken.stderr).toBe(
    "regmirror-cache worker: the first worker's start message is not usable: config.storage: expected { kind: filesystem | s3, ... }, got nothing\n",
  );
  expect(broken.stdout).not.toContain("listening");
  expect(broken.stderr).not.toContain("a-secret-of-the-cache");

  const missing = await otherWorkerGiven({ kind: "start", port: 1 });
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("primarySocket: expected a path, got nothing");
}, 60_000);

test("started by hand (no first worker, no channel), the other worker's program says what to run", async () => {
  const result = await runBundle(bundle, ["serve"], directory, {
    ...process.env,
    REGMIRROR_CACHE_OTHER_WORKER: "1",
  });
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toContain("run `regmirror-cache serve` instead");
}, 60_000);

/** The bundle's files a module loads before it runs: itself and its static imports, deep. */
function staticallyLoaded(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, "utf8");
  for (const [, imported] of text.matchAll(
    /(?:^|\n)\s*(?:import|export)[^"';]*?from\s*"(\.\/[^"]+)"/g,
  )) {
    if (imported !== undefined) staticallyLoaded(join(dirname(file), imported), seen);
  }
  for (const [, imported] of text.matchAll(/(?:^|\n)import\s*"(\.\/[^"]+)"/g)) {
    if (imported !== undefined) staticallyLoaded(join(dirname(file), imported), seen);
  }
  return seen;
}

test("the other worker's code loads no configuration parser (zod, yaml) and no upstream client (undici)", () => {
  const main = readFileSync(bundle, "utf8");
  const entry = /import\("(\.\/other-worker-main-[^"]+)"\)/.exec(main)?.[1];
  expect(entry).toBeDefined();
  const loaded = [...staticallyLoaded(join(dirname(bundle), entry ?? ""))];
  const code = loaded.map((file) => readFileSync(file, "utf8")).join("\n");
  // A mark of each library's code that its bundled form keeps.
  expect(code).not.toContain("ZodError");
  expect(code).not.toContain("YAMLParseError");
  expect(code).not.toContain("UND_ERR_");
  // The first worker loads them, so the bundle holds them: the marks are right.
  const bundled = readdirSync(dirname(bundle))
    .filter((file) => file.endsWith(".js"))
    .map((file) => readFileSync(join(dirname(bundle), file), "utf8"))
    .join("\n");
  for (const mark of ["ZodError", "YAMLParseError", "UND_ERR_"]) expect(bundled).toContain(mark);
});
