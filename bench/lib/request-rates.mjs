// Request rates, warm (issue 22): every system started at once and measured interleaved round
// by round (A B C D, A B C D, ...) with wrk for GETs and the undici loop for HEADs, so that a
// change in the machine's load during the run falls on every system alike. The load average
// is recorded before each measurement.
import { loadavg } from "node:os";
import { manifestAccept } from "./media-types.mjs";
import { cpuSeconds, memoryNow, watchPeakMemory } from "./memory.mjs";
import { fetchAndDiscard, headLoad } from "./workloads.mjs";
import { runWrk, writePathRotation } from "./wrk.mjs";

/**
 * The workloads, in the order each round runs them. `kind`: "wrk" (GET, timed by wrk) or
 * "head" (the undici HEAD loop). `path` is what the warm-up fetches; `script` rotates paths.
 */
async function defineWorkloads({ workDirectory, seeded, repositories, tag, options }) {
  const { image, smallBlobs, largeBlob } = seeded;
  const blobPath = (blob) => `/v2/${repositories.small}/blobs/${blob.digest}`;
  const manifestPath = (reference) => `/v2/${repositories.big}/manifests/${reference}`;
  const smallScript = await writePathRotation(
    workDirectory,
    "small-blobs",
    smallBlobs.map(blobPath),
  );
  const accept = { accept: manifestAccept };
  return [
    {
      key: "small",
      title: `small blob GET (${smallBlobs[0].size / 1000} KB, ${smallBlobs.length} blobs in turn)`,
      unit: "req/s",
      kind: "wrk",
      paths: smallBlobs.map(blobPath),
      script: smallScript,
      bodyBytes: smallBlobs[0].size,
    },
    {
      key: "manifest-tag",
      title: "manifest GET by tag",
      unit: "req/s",
      kind: "wrk",
      paths: [manifestPath(tag)],
      headers: accept,
      bodyBytes: image.manifest.size,
    },
    {
      key: "manifest-digest",
      title: "manifest GET by digest",
      unit: "req/s",
      kind: "wrk",
      paths: [manifestPath(image.manifest.digest)],
      headers: accept,
      bodyBytes: image.manifest.size,
    },
    {
      key: "head-tag",
      title: "manifest HEAD by tag (undici client)",
      unit: "req/s",
      kind: "head",
      paths: [manifestPath(tag)],
      headers: accept,
    },
    {
      key: "head-digest",
      title: "manifest HEAD by digest (undici client)",
      unit: "req/s",
      kind: "head",
      paths: [manifestPath(image.manifest.digest)],
      headers: accept,
    },
    {
      key: "large",
      title: `large blob GET (${largeBlob.size / 1e6} MB)`,
      unit: "MB/s",
      kind: "wrk",
      paths: [blobPath(largeBlob)],
      connections: options.largeConnections,
      bodyBytes: largeBlob.size,
    },
  ];
}

/** Room for a response head in wrk's bytes read per request. */
const maxHeadBytes = 2048;
/** wrk prints the bytes it read with two decimals in its unit: up to 0.5% off. */
const wrkRounding = 0.005;

/** One run, with the system's CPU time per request (µs) next to the client's figures. */
async function measureOnce(system, workload, options, seconds) {
  const cpuBefore = cpuSeconds(system.pids);
  const result = await runOnce(system, workload, options, seconds);
  const cpuUsed = cpuSeconds(system.pids) - cpuBefore;
  return { ...result, cpuMicroseconds: (cpuUsed * 1e6) / Math.max(result.requests ?? 0, 1) };
}

async function runOnce(system, workload, options, seconds) {
  const url = `${system.url}${workload.paths[0]}`;
  if (workload.kind === "head") {
    const result = await headLoad({
      url,
      durationSeconds: seconds,
      concurrency: options.rateConnections,
      warmUp: 0,
    });
    return { ...result, figure: result.requestsPerSecond };
  }
  const result = await runWrk({
    url,
    seconds,
    connections: workload.connections ?? options.rateConnections,
    threads: options.rateThreads,
    headers: workload.headers,
    script: workload.script,
  });
  const figure = workload.unit === "MB/s" ? result.bytesPerSecond / 1e6 : result.requestsPerSecond;
  // wrk checks statuses, not bodies: what it read per request must be the body and a head.
  // Its byte count includes responses still arriving when the run ended: room for one each.
  const perResponse = workload.bodyBytes + maxHeadBytes;
  const connections = workload.connections ?? options.rateConnections;
  const upperBound = perResponse + (connections * perResponse) / Math.max(result.requests, 1);
  const slack = result.bytesPerRequest * wrkRounding;
  if (
    result.requests > 0 &&
    (result.bytesPerRequest + slack < workload.bodyBytes ||
      result.bytesPerRequest - slack > upperBound)
  ) {
    result.errors += 1;
    result.firstError ??= `read ${result.bytesPerRequest.toFixed(0)} bytes per request, expected ${workload.bodyBytes} and a head`;
  }
  return { ...result, figure };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/**
 * `systems`: [{ key, label, start() }]. Starts them all, fills each with every path once
 * (unmeasured), runs a short unmeasured warm-up per workload, then `options.rateRounds` rounds.
 * Returns { workloads, systems: { key: { label, idle, warm, peakBytes, results } } } (idle and
 * warm: memoryNow's figures).
 */
export async function measureRequestRates({
  systems,
  seeded,
  workDirectory,
  repositories,
  tag,
  options,
  progress,
}) {
  const workloads = await defineWorkloads({ workDirectory, seeded, repositories, tag, options });
  const running = [];
  try {
    for (const entry of systems) {
      progress(`request rates: starting ${entry.label}`);
      running.push({ ...entry, system: await entry.start() });
    }
    const outcome = { workloads, systems: {}, loads: [] };
    for (const { key, label, system } of running) {
      const idle = memoryNow(system.pids);
      for (const workload of workloads) {
        for (const path of workload.paths) {
          await fetchAndDiscard(undefined, `${system.url}${path}`, workload.headers);
        }
      }
      outcome.systems[key] = { label, idle, results: {} };
      progress(
        `request rates: ${label} filled, idle RSS ${(idle.residentBytes / 1048576).toFixed(0)} MiB, PSS ${(idle.proportionalBytes / 1048576).toFixed(0)} MiB`,
      );
    }
    for (const { key, system } of running) {
      const memory = watchPeakMemory(system.pids);
      for (const workload of workloads) await measureOnce(system, workload, options, 1);
      outcome.systems[key].warmUpPeakBytes = memory.stop().peakBytes;
    }
    const peaks = new Map(running.map(({ key, system }) => [key, watchPeakMemory(system.pids)]));
    for (let round = 1; round <= options.rateRounds; round += 1) {
      for (const workload of workloads) {
        for (const { key, label, system } of running) {
          const load = loadavg()[0];
          outcome.loads.push(load);
          const result = await measureOnce(system, workload, options, options.rateSeconds);
          const results = outcome.systems[key].results;
          results[workload.key] ??= { rounds: [] };
          results[workload.key].rounds.push({ ...result, load });
          progress(
            `request rates ${round}/${options.rateRounds}, ${workload.title}, ${label}: ${result.figure.toFixed(workload.unit === "MB/s" ? 0 : 0)} ${workload.unit}, p99 ${result.p99Ms.toFixed(2)} ms, CPU ${result.cpuMicroseconds.toFixed(1)} µs/request, errors ${result.errors}, load ${load.toFixed(2)}`,
          );
        }
      }
    }
    for (const { key, system } of running) {
      const entry = outcome.systems[key];
      entry.peakBytes = Math.max(peaks.get(key).stop().peakBytes, entry.warmUpPeakBytes);
      entry.warm = memoryNow(system.pids);
      for (const result of Object.values(entry.results)) {
        const figures = result.rounds.map((round) => round.figure);
        result.median = median(figures);
        result.min = Math.min(...figures);
        result.max = Math.max(...figures);
        result.errors = result.rounds.reduce((sum, round) => sum + round.errors, 0);
        result.firstError = result.rounds.find((round) => round.firstError)?.firstError;
        result.p99Ms = median(result.rounds.map((round) => round.p99Ms));
        result.cpuMicroseconds = median(result.rounds.map((round) => round.cpuMicroseconds));
        result.loads = result.rounds.map((round) => round.load);
      }
    }
    return outcome;
  } finally {
    for (const { system } of running) await system.stop();
  }
}
