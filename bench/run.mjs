#!/usr/bin/env node
// The benchmark runner (issue 8): the regmirror cache next to distribution's proxy, nginx
// proxy_cache and nginx static files, on this machine in one run. `--help` for options.
// Not part of the test suite: run it with `pnpm bench`.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { cacheImageEnvironment } from "../scripts/lib/cache-image-environment.mjs";
import { ensureSystemPackages } from "../scripts/lib/system-packages.mjs";
import { topSelfTime } from "./lib/cpu-profile.mjs";
import { currentLoad, describeMachine } from "./lib/machine-info.mjs";
import { manifestAccept, ociManifest } from "./lib/media-types.mjs";
import { residentBytes, watchPeakMemory } from "./lib/memory.mjs";
import { helpText, parseOptions } from "./lib/options.mjs";
import { keepOwnedSections } from "./lib/owned-sections.mjs";
import { killAllChildren, runCommand } from "./lib/processes.mjs";
import { renderReport, systemLabels } from "./lib/report.mjs";
import { measureRequestRates } from "./lib/request-rates.mjs";
import {
  makeImage,
  makeSmallBlobs,
  pushBlobs,
  pushImage,
  writeStaticLayout,
} from "./lib/seed-images.mjs";
import {
  nginxBinary,
  startCountingProxy,
  startDistributionProxy,
  startNginxProxyCache,
  startNginxStatic,
  startRegmirrorCache,
  startUpstream,
} from "./lib/systems.mjs";
import { makeLoopbackCertificate } from "./lib/tls-certificate.mjs";
import { concurrentPull, fetchBlobs, headLoad, skopeoPull } from "./lib/workloads.mjs";
import { runWrk, writePathRotation } from "./lib/wrk.mjs";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The daemon runs with the environment (V8 and malloc settings) its container image ships with. */
const cacheEnvironment = cacheImageEnvironment(repositoryRoot);
const bigRepository = "bench/big";
const smallRepository = "bench/small";
const tag = "v1";
const headWarmUp = 200;

const runStarted = Date.now();
function progress(message) {
  const elapsed = ((Date.now() - runStarted) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[bench ${elapsed}s] ${message}\n`);
}

let options;
let cacheMain;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error.message}\n\n${helpText}`);
  process.exit(2);
}
cacheMain = options.cacheMain
  ? resolve(options.cacheMain)
  : join(repositoryRoot, "apps/cache/dist/main.js");
if (options.help) {
  process.stdout.write(helpText);
  process.exit(0);
}

/** What the bench starts besides the cache and Node, and the Debian package of each. */
const benchPrograms = [
  { command: "docker-registry", debianPackage: "docker-registry" },
  { command: "skopeo", debianPackage: "skopeo" },
  { command: nginxBinary, debianPackage: "nginx" },
  { command: "wrk", debianPackage: "wrk" },
];
try {
  ensureSystemPackages(process.env, benchPrograms, []);
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}

// Everything lives under one temp directory, removed at exit however the run ends.
const workDirectory = mkdtempSync(join(tmpdir(), "regmirror-bench-"));
let cleanedUp = false;
function cleanUp() {
  if (cleanedUp) return;
  cleanedUp = true;
  killAllChildren();
  if (options.keep) {
    process.stdout.write(`kept ${workDirectory}\n`);
  } else {
    rmSync(workDirectory, { recursive: true, force: true });
  }
}
process.on("exit", cleanUp);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping everything\n`);
    cleanUp();
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  process.stderr.write(`gave up after ${options.timeoutMinutes} minutes (--timeout-minutes)\n`);
  cleanUp();
  process.exit(3);
}, options.timeoutMinutes * 60_000);

/** Builds the cache daemon; returns why it cannot be measured, or undefined. */
async function prepareCache() {
  if (options.build && !options.cacheMain) {
    progress("building apps/cache (pnpm --filter @regmirror/cache build)");
    const build = await runCommand("pnpm", ["--filter", "@regmirror/cache", "build"], {
      cwd: repositoryRoot,
    }).catch((error) => ({ code: error.message, stdout: "", stderr: "" }));
    if (build.code !== 0) {
      return `the build failed (${build.code}): ${`${build.stdout}${build.stderr}`.trim().slice(-400)}`;
    }
  }
  if (!existsSync(cacheMain)) return `${cacheMain} does not exist (build it first)`;
  if (options.baselineMain && !existsSync(resolve(options.baselineMain))) {
    return `--baseline-main: ${resolve(options.baselineMain)} does not exist`;
  }
  return undefined;
}

async function seed() {
  const layerSizes = Array.from({ length: options.layerCount }, () => options.layerBytes);
  progress(
    `seeding: ${options.layerCount} × ${options.layerBytes / 1e6} MB layers and ${options.smallBlobCount} × ${options.smallBlobBytes / 1000} KB blobs`,
  );
  const blobDirectory = join(workDirectory, "content");
  const image = await makeImage(blobDirectory, layerSizes);
  const smallBlobs = await makeSmallBlobs(
    blobDirectory,
    options.smallBlobCount,
    options.smallBlobBytes,
  );
  const [largeBlob] = await makeSmallBlobs(blobDirectory, 1, options.largeBlobBytes);
  const upstream = await startUpstream(workDirectory);
  progress(`upstream docker-registry on ${upstream.url}: pushing`);
  await pushImage(upstream.url, bigRepository, tag, image);
  await pushBlobs(upstream.url, smallRepository, [...smallBlobs, largeBlob]);
  const staticRoot = join(workDirectory, "static");
  await writeStaticLayout(staticRoot, bigRepository, { image, tag });
  await writeStaticLayout(staticRoot, smallRepository, { blobs: [...smallBlobs, largeBlob] });
  const countingProxy = await startCountingProxy(workDirectory, upstream.url);
  progress(`counting proxy on ${countingProxy.url}`);
  return { image, smallBlobs, largeBlob, upstream, countingProxy, staticRoot };
}

function starterFor(key, seeded, extra = {}) {
  const remoteUrl = seeded.countingProxy.url;
  switch (key) {
    case "regmirror":
      // extra: { name, workers } in the request-rate section, { tls } for HTTP/2.
      return () =>
        startRegmirrorCache({
          workDirectory,
          remoteUrl,
          cacheMain,
          cacheNodeFlags: options.cacheNodeFlags,
          environment: cacheEnvironment,
          ...extra,
        });
    case "distribution":
      return () => startDistributionProxy({ workDirectory, remoteUrl, ...extra });
    case "nginx-proxy-cache":
      return () =>
        startNginxProxyCache({
          workDirectory,
          upstreamHostPort: seeded.countingProxy.host,
          ...extra,
        });
    case "nginx-static":
      return () =>
        startNginxStatic({
          workDirectory,
          staticRoot: seeded.staticRoot,
          manifestMediaType: ociManifest,
          tags: [{ repository: bigRepository, tag, digest: seeded.image.manifest.digest }],
          ...extra,
        });
    default:
      throw new Error(`unknown system ${key}`);
  }
}

/** The median round (by `figure`), with every round's figure and the errors of all rounds. */
function combineRounds(rounds, figure) {
  const sorted = [...rounds].sort((a, b) => figure(a) - figure(b));
  const median = { ...sorted[Math.floor((sorted.length - 1) / 2)] };
  median.roundFigures = rounds.map(figure);
  median.errors = rounds.reduce((sum, round) => sum + round.errors, 0);
  median.firstError = rounds.find((round) => round.firstError)?.firstError;
  return median;
}

const describePull = (result) =>
  `${result.wallSeconds.toFixed(2)} s, ${result.megabytesPerSecond.toFixed(0)} MB/s, errors ${result.errors}${result.firstError ? ` (${result.firstError})` : ""}`;

/** Every workload against one system, fresh store, in order: cold, warm, HEAD, small, skopeo. */
async function measureSystem(key, seeded) {
  const label = systemLabels[key];
  const { image, smallBlobs, countingProxy } = seeded;
  progress(`${label}: starting`);
  const system = await starterFor(key, seeded)();
  const pullOptions = {
    baseUrl: system.url,
    repository: bigRepository,
    tag,
    image,
    clients: options.clients,
  };
  try {
    // What the system holds before any work: the floor under every peak below.
    await sleep(1000);
    const idleBytes = residentBytes(system.pids);
    await countingProxy.reset();
    let memory = watchPeakMemory(system.pids);
    progress(`${label}: cold fan-out, ${options.clients} clients`);
    const cold = await concurrentPull(pullOptions);
    cold.peakBytes = memory.stop().peakBytes;
    const coldCounters = await countingProxy.counters();
    cold.upstreamBytes = coldCounters.responseBytes;
    cold.upstreamRequests = coldCounters.requests;
    progress(
      `${label}: cold ${describePull(cold)}, upstream ${(cold.upstreamBytes / image.totalBytes).toFixed(2)}× image in ${cold.upstreamRequests} requests`,
    );

    // Warm workloads run `rounds` times; the tables give the median round and the range.
    await countingProxy.reset();
    memory = watchPeakMemory(system.pids);
    const warmRounds = [];
    for (let round = 1; round <= options.rounds; round += 1) {
      const pulled = await concurrentPull(pullOptions);
      warmRounds.push(pulled);
      progress(`${label}: warm ${round}/${options.rounds} ${describePull(pulled)}`);
    }
    const warm = combineRounds(warmRounds, (result) => result.megabytesPerSecond);
    warm.peakBytes = memory.stop().peakBytes;
    warm.coldPeakBytes = cold.peakBytes;
    warm.idleBytes = idleBytes;
    warm.upstreamRequests = (await countingProxy.counters()).requests / options.rounds;
    progress(`${label}: warm peak RSS ${(warm.peakBytes / 1048576).toFixed(0)} MiB`);

    const head = {};
    for (const [kind, reference] of [
      ["tag", tag],
      ["digest", image.manifest.digest],
    ]) {
      await countingProxy.reset();
      const headRounds = [];
      for (let round = 1; round <= options.rounds; round += 1) {
        const loaded = await headLoad({
          url: `${system.url}/v2/${bigRepository}/manifests/${reference}`,
          total: options.headRequests,
          concurrency: options.headConcurrency,
          warmUp: headWarmUp,
        });
        headRounds.push(loaded);
        progress(
          `${label}: HEAD by ${kind} ${round}/${options.rounds} ${loaded.requestsPerSecond.toFixed(0)} req/s, p50 ${loaded.p50Ms.toFixed(2)} ms, p99 ${loaded.p99Ms.toFixed(2)} ms, client connections ${loaded.connections}, errors ${loaded.errors}`,
        );
      }
      head[kind] = combineRounds(headRounds, (result) => result.requestsPerSecond);
      const headCounters = await countingProxy.counters();
      const clientRequests = options.rounds * (options.headRequests + headWarmUp);
      head[kind].upstreamPerRequest = headCounters.requests / clientRequests;
      head[kind].upstreamConnections = headCounters.connections;
      progress(
        `${label}: HEAD by ${kind}: upstream ${head[kind].upstreamPerRequest.toFixed(3)} requests per request, ${headCounters.connections} upstream connections`,
      );
    }

    const blobOptions = {
      baseUrl: system.url,
      repository: smallRepository,
      blobs: smallBlobs,
      concurrency: options.smallConcurrency,
    };
    await countingProxy.reset();
    const smallCold = await fetchBlobs(blobOptions);
    smallCold.upstreamBytes = (await countingProxy.counters()).responseBytes;
    const smallWarm = await fetchBlobs(blobOptions);
    const small = {
      cold: smallCold,
      warm: smallWarm,
      contentBytes: smallBlobs.length * options.smallBlobBytes,
    };
    progress(
      `${label}: small blobs cold ${smallCold.blobsPerSecond.toFixed(0)}/s, warm ${smallWarm.blobsPerSecond.toFixed(0)}/s, errors ${smallCold.errors + smallWarm.errors}${smallCold.firstError ? ` (${smallCold.firstError})` : ""}`,
    );

    let skopeo;
    if (options.skopeo) {
      skopeo = await skopeoPull({
        host: system.host,
        repository: bigRepository,
        tag,
        destination: join(workDirectory, "skopeo-pull"),
      });
      progress(
        `${label}: skopeo pull ${skopeo.wallSeconds.toFixed(2)} s, errors ${skopeo.errors}${skopeo.firstError ? ` (${skopeo.firstError})` : ""}`,
      );
    }
    return { measured: true, cold, warm, head, small, skopeo };
  } finally {
    await system.stop();
    // Each system's store goes before the next starts: the disk holds one at a time.
    if (!options.keep) {
      for (const name of [
        "regmirror-cache",
        "distribution-proxy",
        "nginx-proxy-cache",
        "nginx-static",
      ]) {
        await rm(join(workDirectory, name), { recursive: true, force: true });
      }
    }
  }
}

/**
 * The regmirror cache over TLS, warm, with clients offering HTTP/1.1 only and clients offering
 * HTTP/2 (ALPN), round by round in turn so both see the same machine load.
 */
async function measureHttp2(seeded) {
  const label = "regmirror cache over TLS";
  const tls = await makeLoopbackCertificate(workDirectory);
  progress(`${label}: starting`);
  const system = await starterFor("regmirror", seeded, { tls })();
  const http1 = { ca: tls.certificatePem };
  const pull = (transport) =>
    concurrentPull({
      baseUrl: system.url,
      repository: bigRepository,
      tag,
      image: seeded.image,
      clients: options.clients,
      transport,
    });
  const small = (transport) =>
    fetchBlobs({
      baseUrl: system.url,
      repository: smallRepository,
      blobs: seeded.smallBlobs,
      concurrency: options.smallConcurrency,
      transport,
    });
  try {
    progress(`${label}: filling over HTTP/1.1 (not measured)`);
    await pull(http1);
    await small(http1);
    const protocols = { "HTTP/1.1": http1, "HTTP/2": { ...http1, http2: true } };
    const rounds = Object.fromEntries(
      Object.keys(protocols).map((name) => [name, { warm: [], head: [], small: [] }]),
    );
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const [name, transport] of Object.entries(protocols)) {
        const warm = await pull(transport);
        const head = await headLoad({
          url: `${system.url}/v2/${bigRepository}/manifests/${seeded.image.manifest.digest}`,
          total: options.headRequests,
          concurrency: options.headConcurrency,
          warmUp: headWarmUp,
          transport,
        });
        const blobs = await small(transport);
        rounds[name].warm.push(warm);
        rounds[name].head.push(head);
        rounds[name].small.push(blobs);
        progress(
          `${label}, ${name} ${round}/${options.rounds}: warm ${describePull(warm)}, ${warm.connections} connections; HEAD ${head.requestsPerSecond.toFixed(0)} req/s, p99 ${head.p99Ms.toFixed(2)} ms; small blobs ${blobs.blobsPerSecond.toFixed(0)}/s`,
        );
      }
    }
    const combined = Object.fromEntries(
      Object.entries(rounds).map(([name, measured]) => [
        name,
        {
          warm: combineRounds(measured.warm, (result) => result.megabytesPerSecond),
          head: combineRounds(measured.head, (result) => result.requestsPerSecond),
          small: combineRounds(measured.small, (result) => result.blobsPerSecond),
        },
      ]),
    );
    return { measured: true, protocols: combined };
  } finally {
    await system.stop();
    if (!options.keep)
      await rm(join(workDirectory, "regmirror-cache"), { recursive: true, force: true });
  }
}

/** The systems of the request-rate section: the cache and nginx static once per worker count. */
function rateSystems(seeded) {
  const systems = [];
  const workerSuffix = (workers) => (workers === 1 ? "" : `-${workers}`);
  const workerLabel = (workers) => `${workers} worker${workers === 1 ? "" : "s"}`;
  for (const key of options.systems) {
    if (key === "distribution" || key === "nginx-proxy-cache") {
      const label = key === "distribution" ? systemLabels[key] : `${systemLabels[key]}, 1 worker`;
      const extra = { name: `rates-${key}`, ...(key === "distribution" ? {} : { workers: 1 }) };
      systems.push({ key, label, start: starterFor(key, seeded, extra) });
      continue;
    }
    for (const workers of options.workers) {
      systems.push({
        key: `${key}${workerSuffix(workers)}`,
        label: `${systemLabels[key]}, ${workerLabel(workers)}`,
        start: starterFor(key, seeded, {
          name: `rates-${key}${workerSuffix(workers)}`,
          // The cache's default is one process; its config names workers only beyond that.
          workers: key === "regmirror" && workers === 1 ? undefined : workers,
        }),
      });
      if (key === "regmirror" && options.baselineMain) {
        systems.push({
          key: `regmirror-baseline${workerSuffix(workers)}`,
          label: `${systemLabels[key]} (baseline), ${workerLabel(workers)}`,
          start: starterFor(key, seeded, {
            name: `rates-regmirror-baseline${workerSuffix(workers)}`,
            cacheMain: resolve(options.baselineMain),
            workers: workers === 1 ? undefined : workers,
          }),
        });
      }
    }
  }
  return systems;
}

async function compare() {
  const startedAt = new Date();
  const notes = [];
  if (options.cacheMain) notes.push(`regmirror cache run from ${cacheMain} (--cache-main).`);
  if (options.baselineMain) {
    notes.push(`regmirror (baseline) run from ${resolve(options.baselineMain)} (--baseline-main).`);
  }
  if (options.cacheNodeFlags.length > 0) {
    notes.push(`regmirror cache run with node ${options.cacheNodeFlags.join(" ")}.`);
  }
  let cacheProblem;
  if (options.systems.includes("regmirror")) cacheProblem = await prepareCache();
  const machine = await describeMachine();
  const seeded = await seed();
  const results = {};
  for (const key of options.ratesOnly ? [] : options.systems) {
    if (key === "regmirror" && cacheProblem) {
      results[key] = { measured: false, reason: cacheProblem };
      progress(`${systemLabels[key]}: not measured: ${cacheProblem}`);
      continue;
    }
    try {
      results[key] = await measureSystem(key, seeded);
    } catch (error) {
      const reason = error.message.split("\n").slice(0, 6).join(" ").slice(0, 600);
      results[key] = { measured: false, reason };
      progress(`${systemLabels[key]}: not measured: ${reason}`);
    }
  }
  let rates;
  if (options.rates) {
    rates = await measureRequestRates({
      systems: rateSystems(seeded).filter(
        (entry) => !(entry.key.startsWith("regmirror") && cacheProblem),
      ),
      seeded,
      workDirectory,
      repositories: { big: bigRepository, small: smallRepository },
      tag,
      options,
      progress,
    });
  }
  let http2;
  if (
    options.http2 &&
    !options.ratesOnly &&
    options.systems.includes("regmirror") &&
    !cacheProblem
  ) {
    try {
      http2 = await measureHttp2(seeded);
    } catch (error) {
      http2 = { measured: false, reason: error.message.split("\n")[0].slice(0, 300) };
      progress(`HTTP/2 next to HTTP/1.1: not measured: ${http2.reason}`);
    }
  }
  await seeded.countingProxy.stop();
  await seeded.upstream.stop();
  machine.loadAtEnd = currentLoad();
  const report = renderReport({
    http2,
    options,
    machine,
    startedAt,
    finishedAt: new Date(),
    image: seeded.image,
    results,
    notes,
    cacheEnvironment,
    rates,
  });
  if (options.output) {
    const outputPath = resolve(repositoryRoot, options.output);
    await mkdir(dirname(outputPath), { recursive: true });
    await writeFile(outputPath, keepOwnedSections(report, outputPath));
    progress(`wrote ${outputPath}`);
  } else {
    process.stdout.write(`\n${report}`);
  }
}

/** Now on CLOCK_MONOTONIC in microseconds: the clock V8 stamps profile samples with. */
const monotonicMicroseconds = () => Number(process.hrtime.bigint() / 1000n);

function printProfile(title, summary) {
  process.stdout.write(
    `\n== ${title}: ${summary.totalSeconds.toFixed(1)} s, ${summary.busySeconds.toFixed(1)} s not idle\n` +
      "self ms   % busy  function\n" +
      summary.top
        .map(
          (entry) =>
            `${entry.selfMs.toFixed(0).padStart(7)}  ${entry.percentOfBusy.toFixed(1).padStart(6)}  ${entry.name}\n` +
            `                 called from ${entry.callers.join(", ")}`,
        )
        .join("\n") +
      "\n",
  );
}

/**
 * Fill the cache, restart it on the same store under --cpu-prof, run the warm workloads and
 * print the functions with the most self time in each (profile samples sliced by the time
 * each workload ran).
 */
async function profile() {
  const problem = await prepareCache();
  if (problem) throw new Error(`cannot profile the cache: ${problem}`);
  const seeded = await seed();
  const fill = await starterFor("regmirror", seeded)();
  progress("regmirror cache: filling (cold pull, not profiled)");
  const pullOptions = {
    baseUrl: fill.url,
    repository: bigRepository,
    tag,
    image: seeded.image,
    clients: options.clients,
  };
  progress(`fill: ${describePull(await concurrentPull(pullOptions))}`);
  const blobOptions = {
    baseUrl: fill.url,
    repository: smallRepository,
    blobs: seeded.smallBlobs,
    concurrency: options.smallConcurrency,
  };
  await fetchBlobs(blobOptions);
  await fill.stop();
  const profileDirectory = mkdtempSync(join(tmpdir(), "regmirror-bench-profile-"));
  const cache = await starterFor("regmirror", seeded, { cpuProfileDirectory: profileDirectory })();
  const phases = [];
  const timed = async (name, work) => {
    const from = monotonicMicroseconds();
    const outcome = await work();
    phases.push({ name, from, to: monotonicMicroseconds() });
    return outcome;
  };
  for (let round = 1; round <= 3; round += 1) {
    const pulled = await timed(`warm pull ${round}`, () =>
      concurrentPull({ ...pullOptions, baseUrl: cache.url }),
    );
    progress(`profiled warm pull ${round}: ${describePull(pulled)}`);
  }
  for (const [kind, reference] of [
    ["tag", tag],
    ["digest", seeded.image.manifest.digest],
  ]) {
    const head = await timed(`HEAD by ${kind}`, () =>
      headLoad({
        url: `${cache.url}/v2/${bigRepository}/manifests/${reference}`,
        total: options.headRequests,
        concurrency: options.headConcurrency,
      }),
    );
    progress(`profiled HEAD by ${kind}: ${head.requestsPerSecond.toFixed(0)} req/s`);
  }
  // The native client's workloads (issue 22): small blobs in turn and the manifest by digest.
  const smallScript = await writePathRotation(
    workDirectory,
    "profile-small-blobs",
    seeded.smallBlobs.map((blob) => `/v2/${smallRepository}/blobs/${blob.digest}`),
  );
  const wrkPhases = [
    [
      "wrk small blob GET",
      `${cache.url}/v2/${smallRepository}/blobs/${seeded.smallBlobs[0].digest}`,
      { script: smallScript },
    ],
    [
      "wrk manifest GET by digest",
      `${cache.url}/v2/${bigRepository}/manifests/${seeded.image.manifest.digest}`,
      { headers: { accept: manifestAccept } },
    ],
  ];
  for (const [name, url, extra] of wrkPhases) {
    const result = await timed(name, () =>
      runWrk({
        url,
        seconds: options.rateSeconds,
        connections: options.rateConnections,
        threads: options.rateThreads,
        ...extra,
      }),
    );
    progress(`profiled ${name}: ${result.requestsPerSecond.toFixed(0)} req/s`);
  }
  for (let round = 1; round <= 3; round += 1) {
    const fetched = await timed("small blobs", () =>
      fetchBlobs({ ...blobOptions, baseUrl: cache.url }),
    );
    progress(`profiled small blobs ${round}: ${fetched.blobsPerSecond.toFixed(0)} blobs/s`);
  }
  await cache.stop();
  await seeded.countingProxy.stop();
  await seeded.upstream.stop();
  const profiles = readdirSync(profileDirectory).filter((name) => name.endsWith(".cpuprofile"));
  if (profiles.length === 0) {
    throw new Error(
      `no .cpuprofile in ${profileDirectory}: did the cache exit cleanly on SIGTERM?`,
    );
  }
  const profilePath = join(profileDirectory, profiles[0]);
  process.stdout.write(`\nprofile ${profilePath} (open it in Chrome DevTools or speedscope)\n`);
  const pulls = phases.filter((phase) => phase.name.startsWith("warm pull"));
  printProfile(
    "warm pulls",
    topSelfTime(profilePath, {
      count: 15,
      fromMicroseconds: pulls[0].from,
      toMicroseconds: pulls.at(-1).to,
    }),
  );
  const smallRounds = phases.filter((phase) => phase.name === "small blobs");
  printProfile(
    "small blobs",
    topSelfTime(profilePath, {
      count: 12,
      fromMicroseconds: smallRounds[0].from,
      toMicroseconds: smallRounds.at(-1).to,
    }),
  );
  for (const phase of phases.filter(
    (entry) => entry.name.startsWith("HEAD") || entry.name.startsWith("wrk"),
  )) {
    printProfile(
      phase.name,
      topSelfTime(profilePath, {
        count: 12,
        fromMicroseconds: phase.from,
        toMicroseconds: phase.to,
      }),
    );
  }
}

try {
  if (options.profile) await profile();
  else await compare();
} catch (error) {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  cleanUp();
}
