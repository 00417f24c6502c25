#!/usr/bin/env node
// `pnpm bench:replicas`: cache replicas that share their downloads (regmirror.peers, ADR 0033)
// next to replicas that do not and to distribution's proxy, cold and warm, on this machine in one
// run; writes docs/benchmarks-replicas.md (and its section of docs/benchmarks.md) with a model of
// larger fleets fed by the figures.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { currentLoad, describeMachine } from "./lib/machine-info.mjs";
import { replaceOwnedSection } from "./lib/owned-sections.mjs";
import { freePort } from "./lib/ports.mjs";
import { killAllChildren, runCommand, startProcess, waitUntilReady } from "./lib/processes.mjs";
import { makeImage, pushImage } from "./lib/seed-images.mjs";
import { startCountingProxy, startDistributionProxy, startUpstream } from "./lib/systems.mjs";
import { request } from "./lib/undici.mjs";
import { concurrentPull } from "./lib/workloads.mjs";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const usage = `Usage: pnpm bench:replicas [options]

Cold and warm pulls through 1 and 3 cache replicas, with and without peering, and through 3
docker-registry proxies on one storage; upstream bytes and wall times.

Options:
  --layer-mb N      size of each of the image's 3 layers (default 20)
  --clients N       clients pulling at once (default 30)
  --no-build        use apps/cache/dist/main.js as it is
  --cache-main PATH the cache bundle to run (default apps/cache/dist/main.js)
  --print           print the report instead of writing docs/benchmarks-replicas.md
  --help            this text
`;

const { values: options } = parseArgs({
  options: {
    "layer-mb": { type: "string", default: "20" },
    clients: { type: "string", default: "30" },
    "no-build": { type: "boolean", default: false },
    "cache-main": { type: "string" },
    print: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (options.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const layerBytes = Number(options["layer-mb"]) * 1e6;
const clients = Number(options.clients);
const cacheMain = resolve(options["cache-main"] ?? join(repositoryRoot, "apps/cache/dist/main.js"));
const secret = "YmVuY2gtcmVwbGljYXMtc2hhcmUtb25lLXNlY3JldC1mb3ItcGVlcnM";
const log = (message) => process.stderr.write(`[bench:replicas] ${message}\n`);

async function answers(url) {
  try {
    const response = await request(`${url}/v2/`);
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

/** `count` cache replicas on filesystem stores of their own; peered or not. */
async function startCacheReplicas(workDirectory, name, count, upstreamUrl, peered) {
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  return Promise.all(
    ports.map(async (port, index) => {
      const directory = join(workDirectory, `${name}-${index}`);
      await mkdir(directory, { recursive: true });
      const peers = peered
        ? `  peers:\n    self: ${urls[index]}\n    secret: ${secret}\n    members: { static: [${urls.join(", ")}] }\n`
        : "";
      await writeFile(
        join(directory, "config.yml"),
        `http:\n  addr: 127.0.0.1:${port}\nlog:\n  level: warn\n  accesslog: { disabled: true }\nregmirror:\n  upstreams: [{ name: upstream, endpoints: [${upstreamUrl}] }]\n  storage: { filesystem: { rootDirectory: ${join(directory, "data")} } }\n${peers}`,
      );
      const child = startProcess({
        name: `${name} ${index}`,
        command: process.execPath,
        args: [cacheMain, "serve", join(directory, "config.yml")],
        cwd: directory,
        logPath: join(directory, "cache.log"),
      });
      await waitUntilReady(child, () => answers(urls[index]));
      return { url: urls[index], stop: () => child.stop(30_000) };
    }),
  );
}

/** 3 docker-registry proxies on one storage directory, as a Deployment on one volume runs them. */
async function startDistributionReplicas(workDirectory, count, upstreamUrl) {
  const dataDirectory = join(workDirectory, "distribution-shared");
  const replicas = [];
  for (let index = 0; index < count; index += 1) {
    replicas.push(
      await startDistributionProxy({
        workDirectory: join(workDirectory, `distribution-${index}`),
        remoteUrl: upstreamUrl,
        dataDirectory,
      }),
    );
  }
  return replicas;
}

/** `clients` clients spread evenly over the replicas, all at once. */
async function pullSpread(replicas, image) {
  const started = process.hrtime.bigint();
  const share = Math.ceil(clients / replicas.length);
  const results = await Promise.all(
    replicas.map((replica, index) =>
      concurrentPull({
        baseUrl: replica.url,
        repository: "bench/replicas",
        tag: "v1",
        image,
        clients: Math.min(share, clients - index * share),
      }),
    ),
  );
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const bytes = results.reduce((sum, result) => sum + result.bytes, 0);
  const errors = results.reduce((sum, result) => sum + result.errors, 0);
  return { wallSeconds, bytes, errors, megabytesPerSecond: bytes / 1e6 / wallSeconds };
}

const scenarios = [
  {
    key: "one",
    label: "regmirror, 1 replica",
    start: (w, u) => startCacheReplicas(w, "one", 1, u, false),
  },
  {
    key: "peered",
    label: "regmirror, 3 replicas, peered",
    start: (w, u) => startCacheReplicas(w, "peered", 3, u, true),
  },
  {
    key: "alone",
    label: "regmirror, 3 replicas, no peering",
    start: (w, u) => startCacheReplicas(w, "alone", 3, u, false),
  },
  {
    key: "distribution",
    label: "distribution proxy, 3 replicas, one storage",
    start: (w, u) => startDistributionReplicas(w, 3, u),
  },
];

/**
 * A fleet of `nodes` pulling one image of `imageBytes` through `replicas` peered replicas, from
 * the measured per-replica figures: upstream bytes (1 copy when peered, one per replica without),
 * each replica's egress (its share of the nodes, plus what it gives its peers), and the time to
 * the last node when every replica sends at the measured warm throughput of one replica.
 */
function model(measured, replicaCounts, nodes = 1000, imageBytes = 3e9) {
  const perReplicaBytesPerSecond = measured.warmMegabytesPerSecondPerReplica * 1e6;
  return replicaCounts.map((replicas) => {
    const egress = (nodes / replicas) * imageBytes + imageBytes * ((replicas - 1) / replicas);
    return {
      replicas,
      upstreamPeered: imageBytes,
      upstreamAlone: imageBytes * replicas,
      egressPerReplica: egress,
      lastNodeSeconds: egress / perReplicaBytesPerSecond,
    };
  });
}

const gb = (bytes) => `${(bytes / 1e9).toFixed(1)} GB`;

function report(machine, image, results, load) {
  const imageBytes = image.layers.reduce((sum, layer) => sum + layer.size, 0) + image.config.size;
  const lines = [
    "# Benchmarks: cache replicas that share their downloads",
    "",
    `Written by \`pnpm bench:replicas\` (\`bench/replicas.mjs\`) on ${new Date().toISOString()}. Do not edit by hand: run it again.`,
    "",
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.dockerRegistry}. Load average (1 min) ${load.start} at the start, ${load.end} at the end. All replicas, the upstream (\`docker-registry\` behind a counting proxy) and the clients (undici, bodies read and length-checked) share these cores, so wall times are the machine's, not a cluster's.`,
    "",
    `Image: 3 layers × ${options["layer-mb"]} MB of random bytes (${(imageBytes / 1e6).toFixed(1)} MB of blobs). ${clients} clients at once, spread evenly over the replicas; every system starts with empty stores (cold), then the same pull again (warm).`,
    "",
    "| system | upstream bytes (× image) | upstream blob requests (GET and HEAD) | cold wall time | warm wall time | warm throughput | client errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const result of results) {
    lines.push(
      `| ${result.label} | ${(result.upstreamBytes / imageBytes).toFixed(2)}× | ${result.blobRequests} | ${result.cold.wallSeconds.toFixed(1)} s | ${result.warm.wallSeconds.toFixed(1)} s | ${result.warm.megabytesPerSecond.toFixed(0)} MB/s | ${result.cold.errors + result.warm.errors} |`,
    );
  }
  lines.push(
    "",
    "Warm, peered replicas on filesystem stores keep only what they own: a client of a replica that does not own a blob gets it through the owner every time (two hops, both on this machine's cores here), where replicas without peering serve their own copies. With S3 every replica serves the stored object itself.",
  );
  const one = results.find((result) => result.key === "one");
  const peered = results.find((result) => result.key === "peered");
  if (one && peered) {
    const measured = { warmMegabytesPerSecondPerReplica: one.warm.megabytesPerSecond };
    lines.push(
      "",
      "## Toward a fleet: a model fed by these figures",
      "",
      "1,000 nodes pull one 3 GB image through N peered replicas. Assumptions: each replica sends at the warm throughput one replica reached here (a figure of this loopback machine, not of a network; a real replica is bound by its NIC), the nodes are spread evenly, the one upstream copy is fetched once by its owners and passed to every other replica once, upstream and peers are never the bottleneck, and nodes do not share with each other (Kraken and Dragonfly do: that is what their figures buy).",
      "",
      "| replicas | upstream bytes, peered | upstream bytes, not peered | egress per replica | time to the last node |",
      "| ---: | ---: | ---: | ---: | ---: |",
    );
    for (const row of model(measured, [3, 10, 30])) {
      lines.push(
        `| ${row.replicas} | ${gb(row.upstreamPeered)} | ${gb(row.upstreamAlone)} | ${gb(row.egressPerReplica)} | ${row.lastNodeSeconds.toFixed(0)} s |`,
      );
    }
    lines.push(
      "",
      "For comparison, published figures: Kraken (Uber) distributes a 3 GB image to 2,600 hosts with a p50 of about 10 s, node to node; Dragonfly reports 99.5 % less registry egress. Peered regmirror replicas cut upstream bytes to one copy per image whatever the number of replicas (as both do) without a daemon on the nodes; the time to the last node is bound by the replicas' egress, which only node-to-node sharing removes.",
    );
  }
  return `${lines.join("\n")}\n`;
}

async function main() {
  const workDirectory = mkdtempSync(join(tmpdir(), "regmirror-bench-replicas-"));
  try {
    if (!options["no-build"] && options["cache-main"] === undefined) {
      log("building apps/cache");
      await runCommand("pnpm", ["--filter", "@regmirror/cache", "build"], { cwd: repositoryRoot });
    }
    const machine = await describeMachine();
    const load = { start: currentLoad() };
    const upstream = await startUpstream(workDirectory);
    const counting = await startCountingProxy(workDirectory, upstream.url);
    const image = await makeImage(join(workDirectory, "blobs"), [
      layerBytes,
      layerBytes,
      layerBytes,
    ]);
    await pushImage(upstream.url, "bench/replicas", "v1", image);
    const results = [];
    for (const scenario of scenarios) {
      log(`${scenario.label}: starting`);
      const replicas = await scenario.start(join(workDirectory, scenario.key), counting.url);
      try {
        await counting.reset();
        const cold = await pullSpread(replicas, image);
        const counters = await counting.counters();
        const warm = await pullSpread(replicas, image);
        results.push({
          key: scenario.key,
          label: scenario.label,
          cold,
          warm,
          upstreamBytes: counters.responseBytes,
          blobRequests: counters.byKind.blobs ?? 0,
        });
        log(
          `${scenario.label}: cold ${cold.wallSeconds.toFixed(1)} s, upstream ${(counters.responseBytes / 1e6).toFixed(1)} MB`,
        );
      } finally {
        await Promise.all(replicas.map((replica) => replica.stop()));
      }
    }
    load.end = currentLoad();
    await counting.stop();
    await upstream.stop();
    const text = report(machine, image, results, load);
    if (options.print) process.stdout.write(text);
    else {
      await writeFile(join(repositoryRoot, "docs/benchmarks-replicas.md"), text);
      log("wrote docs/benchmarks-replicas.md");
      const summaryPath = join(repositoryRoot, "docs/benchmarks.md");
      const summary = existsSync(summaryPath)
        ? readFileSync(summaryPath, "utf8")
        : "# Benchmarks\n";
      await writeFile(summaryPath, replaceOwnedSection(summary, "replicas", text));
      log("wrote its section of docs/benchmarks.md");
    }
  } finally {
    killAllChildren();
    rmSync(workDirectory, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  killAllChildren();
  process.exit(1);
});
