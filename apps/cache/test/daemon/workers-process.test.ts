// `regmirror.workers: 2` with the production bundle (docs/adr/0036-worker-processes.md): two
// processes on one port in front of a real docker-registry (through the kit's fault proxy,
// which counts what reaches the upstream). Many cold clients on their own connections reach both
// workers; each blob still comes from upstream once, and every body matches its digest. A scrape
// of /metrics, whichever worker it reaches, holds the numbers of both, and so does the status page
// (docs/adr/0041-metrics-across-workers.md). The other worker takes its configuration from the
// first's start message: one it cannot use stops it with an error naming the key, and its code
// holds none of the configuration's parsers (docs/adr/0040-memory-per-worker.md).

import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import {
  buildTestImage,
  eventually,
  type FaultProxy,
  freePort,
  makeTempDirectory,
  pushTestImage,
  removeTempDirectory,
  retryOnAddressInUse,
  startFaultProxy,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { StatusSnapshot } from "../../src/status/status-snapshot.js";
import { configForWorkers } from "../../src/workers/worker-config.js";
import { type CacheProcess, runBundle, startCacheWithWorkers } from "./cache-process.js";
import { getOnNewConnection } from "./new-connection.js";
import { buildProductionBundle } from "./production-bundle.js";

let directory: string;
let upstream: UpstreamRegistry;
let proxy: FaultProxy;
let cache: CacheProcess | undefined;
let image: TestImage;
let bundle: string;

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** Access-log lines of blob GETs answered 200, by the worker that served them. */
function servedBlobs(worker: "first" | "other", cacheOutcome?: string) {
  return (cache?.logLines() ?? []).filter(
    (line) =>
      line.msg === "request" &&
      line.worker === worker &&
      line.route === "blob" &&
      line.status === 200 &&
      (cacheOutcome === undefined || line.cache === cacheOutcome),
  );
}

/** A scrape of /metrics on a connection of its own (any worker may get it). */
async function scrape(): Promise<string> {
  const { status, body } = await getOnNewConnection(`${cache?.url}/metrics`);
  expect(status).toBe(200);
  return body.toString("utf8");
}

/** The sum of a metric's series in an exposition, leaving out lines that contain `except`. */
function sumOf(exposition: string, name: string, except?: string): number {
  let total = 0;
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (except !== undefined && line.includes(except)) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** What a scrape says was served: requests (scrapes left out: each one adds one) and hits. */
function countsOf(exposition: string) {
  return {
    requests: sumOf(exposition, "regmirror_cache_http_requests_total", 'route="metrics"'),
    hits: sumOf(exposition, "regmirror_cache_hits_total"),
  };
}

/** A scrape that holds both workers' numbers (the other worker may still be starting again). */
function completeScrape(): Promise<string> {
  return eventually(async () => {
    const exposition = await scrape();
    expect(sumOf(exposition, "regmirror_cache_workers_scraped")).toBe(2);
    return exposition;
  }, 60_000);
}

/**
 * Counts once every request made so far is counted (a request is counted when its response has
 * ended on the server's side, which may come just after the client has the answer): two reads
 * in a row that agree.
 */
function settled<T>(read: () => Promise<T>): Promise<T> {
  return eventually(async () => {
    const first = await read();
    expect(await read()).toEqual(first);
    return first;
  }, 60_000);
}

/** What /metrics counts, settled. */
const settledCounts = () => settled(async () => countsOf(await completeScrape()));

/** The status page's JSON on a connection of its own (whichever worker gets it, the first answers). */
async function statusData(): Promise<StatusSnapshot> {
  const { status, body } = await getOnNewConnection(`${cache?.url}/status/data`);
  expect(status).toBe(200);
  return JSON.parse(body.toString("utf8")) as StatusSnapshot;
}

/** A status snapshot that holds both workers' numbers (the other may still be starting again). */
function completeStatus(): Promise<StatusSnapshot> {
  return eventually(async () => {
    const snapshot = await statusData();
    expect(snapshot.workers).toEqual({ count: 2, answered: 2 });
    return snapshot;
  }, 60_000);
}

/** What the status page counts: hits and bytes of blobs, pulls of the test image by tag. */
function pageCountsOf(snapshot: StatusSnapshot) {
  return {
    blobHits: snapshot.requests.blobHits,
    servedToClients: snapshot.bytes.servedToClients,
    servedFromStore: snapshot.bytes.servedFromStore,
    pulls: snapshot.topImages.find((pulled) => pulled.name.endsWith(`/team/workers:${image.tag}`))
      ?.pulls,
  };
}

/** What the status page counts, settled. */
const settledPageCounts = () => settled(async () => pageCountsOf(await completeStatus()));

/** The pid of the other worker now running (from its "worker listening" line). */
function otherWorkerPid(): number {
  const listening = (cache?.logLines() ?? []).filter((line) => line.msg === "worker listening");
  const pid = Number(listening.at(-1)?.pid);
  expect(pid).toBeGreaterThan(0);
  return pid;
}

/** A distribution proxy config for the test's upstream, with `regmirror` keys. */
function writeWorkersConfig(file: string, dataDirectory: string, regmirror: string) {
  writeFileSync(
    file,
    [
      "version: 0.1",
      "storage:",
      `  filesystem: { rootdirectory: ${join(directory, dataDirectory)} }`,
      // Port 0: the first worker binds a port, the other workers join it (reusePort).
      `http: { addr: "127.0.0.1:0" }`,
      `proxy: { remoteurl: "${proxy.url}" }`,
      `regmirror: { ${regmirror} }`,
      "",
    ].join("\n"),
  );
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-cache-workers-");
  [bundle, upstream, image] = await Promise.all([
    buildProductionBundle(),
    startUpstreamRegistry(),
    // A small layer (served from memory once read) and two larger ones.
    buildTestImage({ seed: "workers", layers: [2048, 300 * 1024, 1024 * 1024] }),
  ]);
  proxy = await startFaultProxy({ target: upstream.url });
  await pushTestImage(image, upstream, "team/workers");
  const configFile = join(directory, "config.yml");
  writeWorkersConfig(configFile, "data", "workers: 2");
  cache = await startCacheWithWorkers(bundle, configFile, directory);
}, 180_000);

afterAll(async () => {
  await cache?.stop();
  await proxy?.stop();
  await upstream?.stop();
  if (directory) removeTempDirectory(directory);
});

test("cold clients spread over two workers: each blob comes from upstream once, every body matches its digest", async () => {
  const blobs = [
    image.manifests[0]?.configDigest ?? "",
    ...(image.manifests[0]?.layerDigests ?? []),
  ];
  const clients = 12;
  const answers = await Promise.all(
    Array.from({ length: clients }, () =>
      Promise.all(
        blobs.map((digest) => getOnNewConnection(`${cache?.url}/v2/team/workers/blobs/${digest}`)),
      ),
    ),
  );
  for (const answer of answers) {
    answer.forEach(({ status, body }, index) => {
      expect(status).toBe(200);
      expect(sha256(body)).toBe(blobs[index]);
    });
  }
  for (const digest of blobs) {
    const upstreamGets = proxy
      .requests()
      .filter((seen) => seen.method === "GET" && seen.path.endsWith(`/blobs/${digest}`));
    expect(upstreamGets).toHaveLength(1);
  }
  // Both processes answered clients (the access log names the worker of each line).
  await eventually(() => {
    expect(servedBlobs("first").length).toBeGreaterThan(0);
    expect(servedBlobs("other").length).toBeGreaterThan(0);
  });
}, 120_000);

test("the other worker serves stored blobs and manifests by digest itself, without upstream", async () => {
  const manifest = image.manifests[0];
  if (manifest === undefined) throw new Error("the test image has no manifest");
  // The manifest by digest into the store first (the first test fetched blobs only).
  expect(
    (await getOnNewConnection(`${cache?.url}/v2/team/workers/manifests/${manifest.digest}`)).status,
  ).toBe(200);
  proxy.resetCounts();
  const before = servedBlobs("other", "hit").length;
  const answers = await Promise.all(
    Array.from({ length: 16 }, () =>
      Promise.all([
        getOnNewConnection(`${cache?.url}/v2/team/workers/blobs/${manifest.layerDigests[0]}`),
        getOnNewConnection(`${cache?.url}/v2/team/workers/manifests/${manifest.digest}`),
      ]),
    ),
  );
  for (const [blob, stored] of answers) {
    expect(blob.status).toBe(200);
    expect(sha256(blob.body)).toBe(manifest.layerDigests[0]);
    expect(stored.status).toBe(200);
    expect(sha256(stored.body)).toBe(manifest.digest);
  }
  expect(proxy.requestCount()).toBe(0);
  await eventually(() => {
    expect(servedBlobs("other", "hit").length).toBeGreaterThan(before);
  });
}, 120_000);

test("an unknown blob through the other worker is answered by the first: 404 BLOB_UNKNOWN", async () => {
  const missing = `sha256:${"0".repeat(64)}`;
  const answers = await Promise.all(
    Array.from({ length: 8 }, () =>
      getOnNewConnection(`${cache?.url}/v2/team/workers/blobs/${missing}`),
    ),
  );
  for (const { status, body } of answers) {
    expect(status).toBe(404);
    expect(body.toString("utf8")).toContain("BLOB_UNKNOWN");
  }
}, 60_000);

test("/metrics on any connection holds both workers' numbers: every scrape shows each request once, the other worker's hits included, gauges not doubled", async () => {
  const manifest = image.manifests[0];
  if (manifest === undefined) throw new Error("the test image has no manifest");
  const blob = `${cache?.url}/v2/team/workers/blobs/${manifest.layerDigests[0]}`;
  const byDigest = `${cache?.url}/v2/team/workers/manifests/${manifest.digest}`;
  // Both in the store (also when this test runs alone).
  expect((await getOnNewConnection(blob)).status).toBe(200);
  expect((await getOnNewConnection(byDigest)).status).toBe(200);
  const before = await settledCounts();
  const otherHitsBefore = servedBlobs("other", "hit").length;

  // Stored content on new connections lands on both workers; an unknown blob is passed on to
  // the first worker (counted once, by the worker the client reached).
  const missing = `${cache?.url}/v2/team/workers/blobs/sha256:${"1".repeat(64)}`;
  const answers = await Promise.all([
    ...Array.from({ length: 16 }, () => getOnNewConnection(blob)),
    ...Array.from({ length: 8 }, () => getOnNewConnection(byDigest)),
    ...Array.from({ length: 8 }, () => getOnNewConnection(missing)),
  ]);
  expect(answers.map(({ status }) => status)).toEqual([
    ...Array<number>(24).fill(200),
    ...Array<number>(8).fill(404),
  ]);
  await eventually(() =>
    expect(servedBlobs("other", "hit").length).toBeGreaterThan(otherHitsBefore),
  );
  const expected = { requests: before.requests + 32, hits: before.hits + 24 };

  // Each request is counted once its response has ended: wait for that, then scrape many times.
  await eventually(async () => expect(countsOf(await scrape())).toEqual(expected));
  const concurrent = await Promise.all(Array.from({ length: 12 }, () => scrape()));
  const oneAfterAnother: string[] = [];
  for (let round = 0; round < 12; round += 1) oneAfterAnother.push(await scrape());
  for (const exposition of [...concurrent, ...oneAfterAnother]) {
    expect(countsOf(exposition)).toEqual(expected);
    expect(sumOf(exposition, "regmirror_cache_build_info")).toBe(1);
    expect(sumOf(exposition, "regmirror_cache_workers_scraped")).toBe(2);
    expect(sumOf(exposition, "regmirror_cache_workers_not_answering")).toBe(0);
    // Node's own series stay per worker.
    expect(exposition).toMatch(/^process_resident_memory_bytes\{worker="0"\} [1-9]/m);
    expect(exposition).toMatch(/^process_resident_memory_bytes\{worker="1"\} [1-9]/m);
  }
  // Both workers took scrapes (the access log names the worker of each line).
  await eventually(() => {
    for (const worker of ["first", "other"]) {
      expect(
        cache?.logLines().some((line) => line.route === "metrics" && line.worker === worker),
      ).toBe(true);
    }
  });
}, 120_000);

test("the other worker killed and started again: the sums in /metrics do not go back", async () => {
  const counts = await settledCounts();
  const before = await completeScrape();
  const started = () => (cache?.logLines() ?? []).filter((line) => line.msg === "worker listening");
  const listening = started();
  process.kill(otherWorkerPid(), "SIGKILL");
  await eventually(() => expect(started().length).toBe(listening.length + 1), 60_000);

  const after = await completeScrape();
  expect(countsOf(after)).toEqual(counts);
  // The restarted worker's own series start again (a new process).
  const startTime = (exposition: string) =>
    sumOf(exposition, "process_start_time_seconds", 'worker="0"');
  expect(startTime(after)).toBeGreaterThan(startTime(before));
  for (let round = 0; round < 6; round += 1) {
    expect(countsOf(await scrape())).toEqual(counts);
  }
}, 120_000);

test("the status page, whichever worker gets it, counts the hits and bytes of both workers and every pull by tag", async () => {
  const manifest = image.manifests[0];
  if (manifest === undefined) throw new Error("the test image has no manifest");
  const [small, , large] = manifest.layerDigests;
  const blobUrl = (digest = "") => `${cache?.url}/v2/team/workers/blobs/${digest}`;
  const byTag = `${cache?.url}/v2/team/workers/manifests/${image.tag}`;
  const accept = { accept: image.mediaType };
  // Both blobs in the store (also when this test runs alone).
  expect((await getOnNewConnection(blobUrl(small))).status).toBe(200);
  expect((await getOnNewConnection(blobUrl(large))).status).toBe(200);
  expect((await getOnNewConnection(byTag, accept)).status).toBe(200);
  const before = await settledPageCounts();
  const otherHitsBefore = servedBlobs("other", "hit").length;

  // On new connections: the kernel spreads them over both workers; tags go to the first.
  const answers = await Promise.all([
    ...Array.from({ length: 16 }, () => getOnNewConnection(blobUrl(small))),
    ...Array.from({ length: 4 }, () => getOnNewConnection(blobUrl(large))),
    ...Array.from({ length: 6 }, () => getOnNewConnection(byTag, accept)),
  ]);
  expect(answers.map(({ status }) => status)).toEqual(Array<number>(26).fill(200));
  await eventually(() =>
    expect(servedBlobs("other", "hit").length).toBeGreaterThan(otherHitsBefore),
  );
  const blobBytes =
    16 * (image.blobs.get(small ?? "")?.byteLength ?? 0) +
    4 * (image.blobs.get(large ?? "")?.byteLength ?? 0);
  const expected = {
    blobHits: before.blobHits + 20,
    servedToClients: before.servedToClients + blobBytes,
    servedFromStore: before.servedFromStore + blobBytes,
    pulls: (before.pulls ?? 0) + 6,
  };
  await eventually(async () => expect(pageCountsOf(await completeStatus())).toEqual(expected));
  for (let round = 0; round < 6; round += 1) {
    expect(pageCountsOf(await completeStatus())).toEqual(expected);
  }
  // The HTML shows the same numbers and says how many workers they cover.
  const { status, body } = await getOnNewConnection(`${cache?.url}/status`);
  expect(status).toBe(200);
  const html = body.toString("utf8");
  expect(html).toContain(`data-field="blob-hits" data-value="${expected.blobHits}"`);
  expect(html).toContain(`data-field="bytes-spared" data-value="${expected.servedFromStore}"`);
  expect(html).toContain('data-field="workers-answered" data-value="2"');
  expect(html).toContain('data-field="workers" data-value="2"');
}, 120_000);

test("a stopped worker: the status page says 1 of 2 workers answered and shows its last counts, no error", async () => {
  const settled = await settledPageCounts();
  const pid = otherWorkerPid();
  process.kill(pid, "SIGSTOP");
  // Connections the kernel hands to the stopped worker wait for it; the first worker answers
  // the others after its bounded wait for the stopped one.
  const asked = Array.from({ length: 16 }, () => getOnNewConnection(`${cache?.url}/status/data`));
  let bound: NodeJS.Timeout | undefined;
  try {
    const { status, body } = await Promise.race([
      Promise.any(asked),
      new Promise<never>((_, reject) => {
        bound = setTimeout(() => reject(new Error("no request reached the first worker")), 60_000);
      }),
    ]);
    expect(status).toBe(200);
    const snapshot = JSON.parse(body.toString("utf8")) as StatusSnapshot;
    expect(snapshot.workers).toEqual({ count: 2, answered: 1 });
    expect(snapshot.warnings).toContain(
      "1 of 2 workers did not answer in time: their counts are as of their last answer",
    );
    expect(pageCountsOf(snapshot)).toEqual(settled);
  } finally {
    clearTimeout(bound);
    process.kill(pid, "SIGCONT");
  }
  const answers = await Promise.all(asked);
  expect(answers.map(({ status }) => status)).toEqual(Array<number>(16).fill(200));
  expect(pageCountsOf(await completeStatus())).toEqual(settled);
}, 120_000);

test("a separate metrics address: the first worker listens there and answers for both; the main port serves no /metrics", async () => {
  const configFile = join(directory, "metrics-address.yml");
  // A fixed port (the others would each get their own with port 0), another one if taken.
  const separate = await retryOnAddressInUse("the cache", async () => {
    const port = await freePort();
    writeWorkersConfig(
      configFile,
      "data-metrics-address",
      `workers: 2, metrics: { address: "127.0.0.1:${port}" }`,
    );
    return startCacheWithWorkers(bundle, configFile, directory);
  });
  try {
    const metricsUrl = separate.logLines().find((line) => line.msg === "listening")?.metricsUrl;
    expect(typeof metricsUrl).toBe("string");
    for (let round = 0; round < 6; round += 1) {
      const { status, body } = await getOnNewConnection(`${metricsUrl}/metrics`);
      expect(status).toBe(200);
      expect(sumOf(body.toString("utf8"), "regmirror_cache_workers_scraped")).toBe(2);
    }
    const onMainPort = await Promise.all(
      Array.from({ length: 8 }, () => getOnNewConnection(`${separate.url}/metrics`)),
    );
    expect(onMainPort.map(({ status }) => status)).toEqual(Array<number>(8).fill(404));
  } finally {
    await separate.stop();
  }
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

test("a start message that is not a usable configuration (docs/adr/0040-memory-per-worker.md): the worker says which key and exits 1", async () => {
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
