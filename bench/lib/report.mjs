// Renders the results as docs/benchmarks.md: one table per workload, each figure with its
// ratio to distribution's proxy and to nginx static, then the targets from issue 8, then the
// interleaved request rates (rate-report.mjs).
import { renderRequestRates } from "./rate-report.mjs";

/** The cache image's environment as a shell would set it. */
const formatEnvironment = (environment) =>
  Object.entries(environment)
    .map(([name, value]) => `${name}=${value.includes(" ") ? `"${value}"` : value}`)
    .join(" ");

export const systemLabels = {
  regmirror: "regmirror cache",
  distribution: "distribution proxy (docker-registry)",
  "nginx-proxy-cache": "nginx proxy_cache (mirror-operator)",
  "nginx-static": "nginx static files (ceiling)",
};

const megabytes = (bytes) => (bytes / 1e6).toFixed(bytes >= 1e8 ? 0 : 1);
const fixed = (value, digits = 2) =>
  value === undefined || Number.isNaN(value) ? "—" : value.toFixed(digits);

function ratio(value, reference) {
  if (!Number.isFinite(value) || !Number.isFinite(reference) || !reference) return "—";
  return `${(value / reference).toFixed(2)}×`;
}

/** A markdown table; `figure(result)` is the number the ratios compare. */
function workloadTable(results, { columns, figure, pick }) {
  const header = `| system | ${columns.map((column) => column.title).join(" | ")} |`;
  const rule = `|---|${columns.map(() => "---:").join("|")}|`;
  const reference = (key) => {
    const entry = results[key];
    return entry?.measured ? figure(pick(entry)) : undefined;
  };
  const distribution = reference("distribution");
  const ceiling = reference("nginx-static");
  const rows = Object.entries(results).map(([key, entry]) => {
    if (!entry.measured) {
      return `| ${systemLabels[key]} | ${columns.map(() => "not measured").join(" | ")} |`;
    }
    const result = pick(entry);
    if (!result) return `| ${systemLabels[key]} | ${columns.map(() => "—").join(" | ")} |`;
    const cells = columns.map((column) =>
      column.ratioTo === "distribution"
        ? ratio(figure(result), distribution)
        : column.ratioTo === "nginx-static"
          ? ratio(figure(result), ceiling)
          : column.cell(result),
    );
    return `| ${systemLabels[key]} | ${cells.join(" | ")} |`;
  });
  return [header, rule, ...rows].join("\n");
}

/** min–max of the rounds' figures, when there was more than one round. */
const rangeColumn = (digits) => ({
  title: "range of rounds",
  cell: (result) =>
    (result.roundFigures?.length ?? 0) > 1
      ? `${fixed(Math.min(...result.roundFigures), digits)}–${fixed(Math.max(...result.roundFigures), digits)}`
      : "—",
});

const ratioColumns = [
  { title: "× distribution", ratioTo: "distribution" },
  { title: "× nginx static", ratioTo: "nginx-static" },
];

/** One line, no table syntax: error messages may hold HTML from a proxy. */
const cellText = (text) => text.replace(/\s+/g, " ").replace(/[|<>]/g, " ").trim();

const errorsCell = (result) =>
  result.errors === 0
    ? "0"
    : `${result.errors} (${cellText(result.firstError ?? "").slice(0, 80)})`;

/** Each target from the issue, evaluated on the regmirror figures. */
export function evaluateTargets(results, image) {
  const own = results.regmirror?.measured ? results.regmirror : undefined;
  const peer = results.distribution?.measured ? results.distribution : undefined;
  const ceiling = results["nginx-static"]?.measured ? results["nginx-static"] : undefined;
  const verdict = (condition, figure) =>
    condition === undefined
      ? { reached: "not measured", figure: figure ?? "—" }
      : { reached: condition ? "yes" : "no", figure };
  const targets = [];
  const upstreamFactor = own ? own.cold.upstreamBytes / image.totalBytes : undefined;
  targets.push({
    target: "cold fan-out: upstream bytes = 1.0× the image size",
    ...verdict(
      upstreamFactor === undefined ? undefined : upstreamFactor <= 1.005,
      `${fixed(upstreamFactor)}×`,
    ),
  });
  const coldFactor = own && peer ? own.cold.wallSeconds / peer.cold.wallSeconds : undefined;
  targets.push({
    target: "cold fan-out wall time ≤ 0.5× distribution's proxy",
    ...verdict(coldFactor === undefined ? undefined : coldFactor <= 0.5, `${fixed(coldFactor)}×`),
  });
  const warmVsPeer =
    own && peer ? own.warm.megabytesPerSecond / peer.warm.megabytesPerSecond : undefined;
  targets.push({
    target: "warm throughput ≥ 1.0× distribution's proxy",
    ...verdict(warmVsPeer === undefined ? undefined : warmVsPeer >= 1, `${fixed(warmVsPeer)}×`),
  });
  const warmVsCeiling =
    own && ceiling ? own.warm.megabytesPerSecond / ceiling.warm.megabytesPerSecond : undefined;
  targets.push({
    target: "warm throughput ≥ 0.7× nginx static",
    ...verdict(
      warmVsCeiling === undefined ? undefined : warmVsCeiling >= 0.7,
      `${fixed(warmVsCeiling)}×`,
    ),
  });
  for (const kind of ["tag", "digest"]) {
    const factor =
      own && peer
        ? own.head[kind].requestsPerSecond / peer.head[kind].requestsPerSecond
        : undefined;
    targets.push({
      target: `warm manifest HEAD by ${kind} ≥ 2× distribution's proxy's requests per second`,
      ...verdict(factor === undefined ? undefined : factor >= 2, `${fixed(factor)}×`),
    });
  }
  const warmPeak = own ? own.warm.peakBytes : undefined;
  targets.push({
    target: "cache peak RSS < 150 MB during the warm run",
    ...verdict(
      warmPeak === undefined ? undefined : warmPeak < 150 * 1024 * 1024,
      warmPeak === undefined ? undefined : `${(warmPeak / 1024 / 1024).toFixed(0)} MiB`,
    ),
  });
  return targets;
}

/** The regmirror cache over TLS: the same warm workloads with HTTP/1.1 and with HTTP/2. */
function http2Section(http2, options) {
  if (!http2.measured) {
    return `## HTTP/2 next to HTTP/1.1 (regmirror over TLS)\n\nNot measured: ${cellText(http2.reason)}`;
  }
  const one = http2.protocols["HTTP/1.1"];
  const two = http2.protocols["HTTP/2"];
  const row = (title, pick, digits = 2) =>
    `| ${title} | ${fixed(pick(one), digits)} | ${fixed(pick(two), digits)} | ${ratio(pick(two), pick(one))} |`;
  return `## HTTP/2 next to HTTP/1.1 (regmirror over TLS)

The regmirror cache with \`http.tls\` (a self-signed certificate for 127.0.0.1) serves HTTP/2
next to HTTP/1.1, chosen per connection by ALPN, as distribution does. The same warm workloads
as above, with the same undici clients: once offering HTTP/1.1 only, once offering HTTP/2
(each client's requests then share one connection as streams; Go's flow-control windows, as
containerd and skopeo use them).
The two alternate round by round; medians of ${options.rounds} round(s).

| workload | HTTP/1.1 | HTTP/2 | HTTP/2 ÷ HTTP/1.1 |
|---|---:|---:|---:|
${row(`warm pull, ${options.clients} clients (MB/s)`, (result) => result.warm.megabytesPerSecond, 0)}
${row(`manifest HEAD by digest, ${options.headConcurrency} at a time (req/s)`, (result) => result.head.requestsPerSecond, 0)}
${row("HEAD p50 (ms)", (result) => result.head.p50Ms)}
${row("HEAD p99 (ms)", (result) => result.head.p99Ms)}
${row(`small blobs, ${options.smallConcurrency} at a time (blobs/s)`, (result) => result.small.blobsPerSecond, 0)}
${row("errors", (result) => result.warm.errors + result.head.errors + result.small.errors, 0)}`;
}

export function renderReport({
  http2,
  options,
  machine,
  startedAt,
  finishedAt,
  image,
  results,
  notes,
  cacheEnvironment,
  rates,
}) {
  const imageSize = `${options.layerCount} layers × ${megabytes(options.layerBytes)} MB, ${megabytes(image.totalBytes)} MB in all`;
  const sections = [];
  sections.push(`# Benchmarks

Written by \`pnpm bench\` (\`bench/run.mjs\`) on ${startedAt.toISOString()} (run took
${((finishedAt - startedAt) / 60_000).toFixed(1)} minutes). Do not edit by hand: run it again.${
    options.ratesOnly
      ? `

Only the request-rate section (\`pnpm bench --rates-only\`, systems ${options.systems.join(", ")}); the machine table and the request-rate tables below are this run's.`
      : ""
  }

Four systems, measured one after the other on this machine in one run, each with a fresh
store, all pulling from the same upstream (a \`docker-registry\` on loopback, seeded by the
runner with random, incompressible content; a counting proxy in front of it counts what it
serves). Clients run on the same machine: an undici client that reads and discards bodies
(lengths checked against the manifest) and \`skopeo copy\` (digests checked) for the end-to-end
figure. Content sits in the page cache, so these figures measure the software, not the disk.
Clients and systems share the machine's cores: a figure near nginx static's is as much the
client's limit as the system's, and other load on the machine (see the load average below)
makes every figure noisier.
Ratios: the system's figure divided by distribution's proxy's and by nginx static's.

- **regmirror cache**: \`apps/cache/dist/main.js serve\` with distribution's proxy configuration
  (the same file distribution gets), filesystem store, and the environment its container
  image sets (\`${formatEnvironment(cacheEnvironment) || "none"}\`, from packages/image-builder/src/image-definitions.ts).
- **distribution proxy**: \`docker-registry serve\` with \`proxy.remoteurl\`, filesystem storage,
  in-memory blob descriptor cache (Debian's stock configuration plus \`proxy\`).
- **nginx proxy_cache**: the cache ocadotechnology/mirror-operator deploys
  (\`proxy_cache_path levels=1:2 inactive=7d use_temp_path=off keys_zone=…:10m\`,
  \`proxy_cache_valid 7d\`, no \`proxy_cache_lock\`), over HTTP on loopback instead of TLS.
- **nginx static**: the same blobs and manifests as files under \`/v2/…\`, \`sendfile on\`: the
  ceiling for serving these bytes here.

Access logs are off in every system.`);

  sections.push(`## Machine and versions

| | |
|---|---|
| CPU | ${machine.cpu}, ${machine.cores} cores |
| memory | ${machine.memoryGiB} GiB |
| kernel | ${machine.kernel} |
| Node (cache and clients) | ${machine.node}, undici ${machine.undici} |
| docker-registry | ${machine.dockerRegistry} |
| nginx | ${machine.nginx} |
| wrk | ${machine.wrk} |
| skopeo | ${machine.skopeo} |
| date | ${startedAt.toISOString()} |
| load average (1 min) | ${machine.loadAtStart} at the start, ${machine.loadAtEnd} at the end |

Parameters: image ${imageSize}; ${options.clients} concurrent clients for the pulls;
${options.rounds} round(s) of each warm workload; ${options.headRequests} HEAD requests per round, ${options.headConcurrency} at a time;
${options.smallBlobCount} small blobs of ${options.smallBlobBytes / 1000} KB, ${options.smallConcurrency} at a time.`);

  // --rates-only measures no system one by one: only the request-rate section follows.
  if (Object.keys(results).length > 0) {
    sections.push(`## Cold fan-out

${options.clients} clients at once pull the same image, not yet cached (${imageSize}): manifest by
tag, then config and layers in parallel. Wall time until the last client is done (lower is
better); upstream bytes are what the upstream served divided by the image size.

${workloadTable(results, {
  pick: (entry) => entry.cold,
  figure: (result) => result.wallSeconds,
  columns: [
    { title: "wall time (s)", cell: (result) => fixed(result.wallSeconds) },
    ...ratioColumns,
    {
      title: "upstream bytes / image",
      cell: (result) => `${fixed(result.upstreamBytes / image.totalBytes)}×`,
    },
    { title: "upstream requests", cell: (result) => String(result.upstreamRequests) },
    { title: "errors", cell: errorsCell },
  ],
})}

nginx static has nothing to fetch: its row is the time to serve the same bytes from disk.`);

    sections.push(`## Warm pull

The same ${options.clients} clients pull the image again, now cached, ${options.rounds} time(s). Aggregate throughput of the
median round (higher is better); upstream requests are per round.

${workloadTable(results, {
  pick: (entry) => entry.warm,
  figure: (result) => result.megabytesPerSecond,
  columns: [
    { title: "MB/s", cell: (result) => fixed(result.megabytesPerSecond, 0) },
    ...ratioColumns,
    rangeColumn(0),
    { title: "wall time (s)", cell: (result) => fixed(result.wallSeconds) },
    {
      title: "upstream requests",
      cell: (result) => String(Number(result.upstreamRequests.toFixed(1))),
    },
    { title: "errors", cell: errorsCell },
  ],
})}`);

    for (const kind of ["tag", "digest"]) {
      sections.push(`## Manifest HEAD by ${kind}, warm

${options.headRequests} HEAD requests for the manifest by ${kind}, ${options.headConcurrency} at a time on kept-alive connections (after 200
unmeasured), with the Accept header a runtime sends; ${options.rounds} round(s), the median shown. Requests per second (higher is better),
latency, how many upstream requests each client request caused, and how many connections the
system opened to the upstream for them.

${workloadTable(results, {
  pick: (entry) => entry.head?.[kind],
  figure: (result) => result.requestsPerSecond,
  columns: [
    { title: "req/s", cell: (result) => fixed(result.requestsPerSecond, 0) },
    ...ratioColumns,
    rangeColumn(0),
    { title: "p50 (ms)", cell: (result) => fixed(result.p50Ms) },
    { title: "p99 (ms)", cell: (result) => fixed(result.p99Ms) },
    { title: "upstream req per request", cell: (result) => fixed(result.upstreamPerRequest, 3) },
    { title: "upstream connections", cell: (result) => String(result.upstreamConnections) },
    { title: "errors", cell: errorsCell },
  ],
})}`);
    }

    sections.push(`## Many small blobs

${options.smallBlobCount} blobs of ${options.smallBlobBytes / 1000} KB fetched by digest, ${options.smallConcurrency} at a time: first cold, then again warm.
Blobs per second (higher is better); the ratios compare the warm figure.

${workloadTable(results, {
  pick: (entry) => entry.small,
  figure: (result) => result.warm.blobsPerSecond,
  columns: [
    { title: "cold blobs/s", cell: (result) => fixed(result.cold.blobsPerSecond, 0) },
    { title: "warm blobs/s", cell: (result) => fixed(result.warm.blobsPerSecond, 0) },
    ...ratioColumns,
    {
      title: "cold upstream bytes / content",
      cell: (result) => `${fixed(result.cold.upstreamBytes / result.contentBytes)}×`,
    },
    {
      title: "errors",
      cell: (result) =>
        errorsCell({ ...result.cold, errors: result.cold.errors + result.warm.errors }),
    },
  ],
})}`);

    sections.push(`## Peak memory

Peak resident set size of each system's processes (summed over nginx's master and workers)
during the cold fan-out and during the warm pull, from the kernel's high-water mark (reset at
the start of each workload) and 100 ms samples. Lower is better.

${workloadTable(results, {
  pick: (entry) => entry.warm,
  figure: (result) => result.peakBytes,
  columns: [
    { title: "idle after start (MiB)", cell: (result) => fixed(result.idleBytes / 1048576, 0) },
    { title: "cold fan-out (MiB)", cell: (result) => fixed(result.coldPeakBytes / 1048576, 0) },
    { title: "warm pull (MiB)", cell: (result) => fixed(result.peakBytes / 1048576, 0) },
    ...ratioColumns,
  ],
})}

Ratios compare the warm figure.`);

    if (options.skopeo) {
      sections.push(`## End to end: skopeo

One \`skopeo copy docker://… dir:…\` of the cached image (skopeo checks every digest and
writes the layers to disk). Lower is better.

${workloadTable(results, {
  pick: (entry) => entry.skopeo,
  figure: (result) => result.wallSeconds,
  columns: [
    { title: "wall time (s)", cell: (result) => fixed(result.wallSeconds) },
    ...ratioColumns,
    { title: "errors", cell: errorsCell },
  ],
})}`);
    }

    if (http2 !== undefined) sections.push(http2Section(http2, options));

    const targets = evaluateTargets(results, image);
    sections.push(`## Targets (issue 8)

Goals for the regmirror cache, measured above; never assertions in tests.

| target | measured | reached |
|---|---:|:---:|
${targets.map((target) => `| ${target.target} | ${target.figure} | ${target.reached} |`).join("\n")}`);
  }

  if (rates !== undefined) sections.push(renderRequestRates(rates, options));

  const unmeasured = Object.entries(results).filter(([, entry]) => !entry.measured);
  if (unmeasured.length > 0 || notes.length > 0) {
    sections.push(`## Notes

${[
  ...unmeasured.map(
    ([key, entry]) => `- ${systemLabels[key]}: not measured: ${cellText(entry.reason)}`,
  ),
  ...notes.map((note) => `- ${note}`),
].join("\n")}`);
  }
  return `${sections.join("\n\n")}\n`;
}
