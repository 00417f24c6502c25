// Command-line options of bench/run.mjs.
import { parseArgs } from "node:util";

export const systemKeys = ["distribution", "nginx-proxy-cache", "regmirror", "nginx-static"];

export const helpText = `Usage: pnpm bench [OPTIONS]   (or: pnpm exec node bench/run.mjs [OPTIONS])

Measures, on this machine in one run, the regmirror cache next to docker-registry in proxy mode,
nginx proxy_cache configured like mirror-operator's cache, and nginx serving the same blobs as
static files. Everything listens on 127.0.0.1, runs in a temp directory and is stopped and
removed at the end. A full run takes a few minutes and about 1 GB of disk per system at a time
(nginx proxy_cache without a cache lock writes one temp file per concurrent miss: more).

Options:
  --quick                 smoke run: 3 x 4 MB layers, 50 small blobs, 500 HEAD requests;
                          prints the report instead of writing docs/benchmarks.md
  --layer-mb N            size of each of the 3 layers (default 100)
  --clients N             concurrent clients for the cold and warm pulls (default 20)
  --head-requests N       HEAD requests per round of a manifest workload (default 3000)
  --head-concurrency N    concurrent HEAD requests (default 20)
  --small-blobs N         number of small blobs (default 500)
  --small-kb N            size of each small blob in KB (default 10)
  --small-concurrency N   concurrent small-blob requests (default 50)
  --rounds N              rounds of each warm workload; tables give the median (default 3)
  --systems LIST          comma-separated subset of: ${systemKeys.join(", ")}
  --rates-only            only the interleaved request-rate section (issue 22); prints the
                          report instead of writing docs/benchmarks.md unless --output is given
  --no-rates              skip the request-rate section
  --rate-seconds N        length of each wrk / HEAD run in the request-rate section (default 5)
  --rate-rounds N         interleaved rounds of the request-rate section (default 3)
  --rate-connections N    connections (wrk) and concurrent HEADs per run (default 20)
  --rate-threads N        wrk threads (default 1: one core for the client, one for the system)
  --large-mb N            size of the large blob of the request-rate section (default 50)
  --large-connections N   wrk connections for the large blob (default 20)
  --workers LIST          worker counts for the regmirror cache and nginx static in the
                          request-rate section (default 1,2)
  --no-skopeo             skip the end-to-end skopeo pull
  --no-http2              skip the regmirror-over-TLS workloads (HTTP/1.1 next to HTTP/2)
  --cache-node-flags=F    extra Node flags for the daemon, e.g. --cache-node-flags=--max-semi-space-size=4
  --no-build              use apps/cache/dist as it is (default: pnpm --filter @regmirror/cache build)
  --cache-main FILE       run this build of the daemon instead of apps/cache/dist/main.js (to
                          compare a candidate change; implies --no-build)
  --baseline-main FILE    also run this build of the daemon in the request-rate section, as
                          "regmirror (baseline)" with every worker count, interleaved with the
                          cache under test: an A/B of a change within one run
  --output FILE           write the report here (default docs/benchmarks.md; --quick: stdout only)
  --profile               instead of the comparison: fill the regmirror cache, restart it under
                          node --cpu-prof, run the warm pull and HEAD workloads, print the
                          functions with the most self time and keep the .cpuprofile
  --timeout-minutes N     give up (and clean up) after N minutes (default 30)
  --keep                  keep the temp directory (logs, configs) for a look afterwards
  -h, --help              this text
`;

function positiveInteger(value, name) {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) {
    throw new Error(`--${name} must be a positive whole number, got "${value}"`);
  }
  return number;
}

export function parseOptions(argv) {
  // `pnpm bench -- --quick` passes the "--" along; it separates nothing here.
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: "boolean", default: false },
      "layer-mb": { type: "string" },
      clients: { type: "string" },
      "head-requests": { type: "string" },
      "head-concurrency": { type: "string" },
      "small-blobs": { type: "string" },
      "small-kb": { type: "string" },
      "small-concurrency": { type: "string" },
      "rate-seconds": { type: "string" },
      "rate-rounds": { type: "string" },
      "rate-connections": { type: "string" },
      "rate-threads": { type: "string" },
      "large-mb": { type: "string" },
      "large-connections": { type: "string" },
      workers: { type: "string" },
      systems: { type: "string" },
      rounds: { type: "string" },
      "rates-only": { type: "boolean", default: false },
      "no-rates": { type: "boolean", default: false },
      "no-skopeo": { type: "boolean", default: false },
      "no-http2": { type: "boolean", default: false },
      "no-build": { type: "boolean", default: false },
      output: { type: "string" },
      "cache-main": { type: "string" },
      "baseline-main": { type: "string" },
      "cache-node-flags": { type: "string" },
      profile: { type: "boolean", default: false },
      "timeout-minutes": { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const quick = values.quick;
  const pick = (name, full, small) =>
    values[name] === undefined ? (quick ? small : full) : positiveInteger(values[name], name);
  const systems = values.systems ? values.systems.split(",").map((key) => key.trim()) : systemKeys;
  for (const key of systems) {
    if (!systemKeys.includes(key)) {
      throw new Error(`--systems: unknown system "${key}" (known: ${systemKeys.join(", ")})`);
    }
  }
  const workers = (values.workers ?? "1,2")
    .split(",")
    .map((value) => positiveInteger(value.trim(), "workers"));
  const ratesOnly = values["rates-only"];
  return {
    help: values.help,
    quick,
    layerBytes: pick("layer-mb", 100, 4) * 1_000_000,
    layerCount: 3,
    clients: pick("clients", 20, 20),
    headRequests: pick("head-requests", 3000, 500),
    headConcurrency: pick("head-concurrency", 20, 20),
    smallBlobCount: pick("small-blobs", 500, 50),
    smallBlobBytes: pick("small-kb", 10, 10) * 1000,
    smallConcurrency: pick("small-concurrency", 50, 50),
    rounds: pick("rounds", 3, 1),
    systems,
    rates: !values["no-rates"],
    ratesOnly,
    rateSeconds: pick("rate-seconds", 5, 2),
    rateRounds: pick("rate-rounds", 3, 1),
    rateConnections: pick("rate-connections", 20, 20),
    rateThreads: pick("rate-threads", 1, 1),
    largeBlobBytes: pick("large-mb", 50, 8) * 1_000_000,
    largeConnections: pick("large-connections", 20, 20),
    workers: [...new Set(workers)].sort((a, b) => a - b),
    skopeo: !values["no-skopeo"],
    http2: !values["no-http2"],
    build: !values["no-build"],
    cacheMain: values["cache-main"],
    baselineMain: values["baseline-main"],
    cacheNodeFlags: (values["cache-node-flags"] ?? "").split(" ").filter(Boolean),
    output: values.output ?? (quick || ratesOnly ? undefined : "docs/benchmarks.md"),
    profile: values.profile,
    timeoutMinutes: pick("timeout-minutes", 30, 30),
    keep: values.keep,
  };
}
