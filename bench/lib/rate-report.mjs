// The request-rate section of docs/benchmarks.md (issue 22): one table per workload with the
// median of the interleaved rounds, its spread and the load average each round ran under,
// resident memory, and the targets.

const fixed = (value, digits = 0) =>
  value === undefined || !Number.isFinite(value) ? "—" : value.toFixed(digits);
const mebibytes = (bytes) => fixed(bytes / 1048576);

/** The nginx static system with the same number of workers as `key` (ADR 0036's comparison). */
export function ceilingFor(key, systems) {
  const workers = /-(\d+)$/.exec(key)?.[1];
  const sameWorkers = workers && workers !== "1" ? `nginx-static-${workers}` : "nginx-static";
  return systems[sameWorkers] ? sameWorkers : "nginx-static";
}

function ratioTo(result, reference) {
  if (!result || !reference?.median) return undefined;
  return result.median / reference.median;
}

function workloadTable(rates, workload) {
  const digits = workload.unit === "MB/s" ? 0 : 0;
  const rows = Object.entries(rates.systems).map(([key, entry]) => {
    const result = entry.results[workload.key];
    if (!result) return `| ${entry.label} | — | — | — | — | — | — | — |`;
    const ceiling = rates.systems[ceilingFor(key, rates.systems)]?.results[workload.key];
    const errors =
      result.errors === 0 ? "0" : `${result.errors} (${(result.firstError ?? "").slice(0, 60)})`;
    return `| ${entry.label} | ${fixed(result.median, digits)} | ${fixed(ratioTo(result, ceiling), 2)}× | ${fixed(result.min, digits)}–${fixed(result.max, digits)} | ${fixed(result.p99Ms, 2)} | ${fixed(result.cpuMicroseconds, 1)} | ${result.loads.map((load) => load.toFixed(2)).join(", ")} | ${errors} |`;
  });
  return [
    `### ${workload.title}`,
    "",
    `| system | ${workload.unit} (median) | × nginx static, same workers | range of rounds | p99 (ms) | CPU per request (µs, median) | load average per round | errors |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

function memoryTable(rates) {
  const rows = Object.entries(rates.systems).map(([key, entry]) => {
    const workers = workersOf(key);
    const perWorker = (bytes) => (workers === 1 ? "" : ` (${mebibytes(bytes / workers)})`);
    const { idle, warm } = entry;
    return `| ${entry.label} | ${mebibytes(idle.residentBytes)} | ${mebibytes(idle.proportionalBytes)} | ${mebibytes(warm.residentBytes)}${perWorker(warm.residentBytes)} | ${mebibytes(warm.programBytes)}${perWorker(warm.programBytes)} | ${mebibytes(warm.residentBytes - warm.programBytes)}${perWorker(warm.residentBytes - warm.programBytes)} | ${mebibytes(warm.proportionalBytes)}${perWorker(warm.proportionalBytes)} | ${mebibytes(warm.privateBytes)}${perWorker(warm.privateBytes)} | ${mebibytes(entry.peakBytes)} |`;
  });
  return [
    "RSS counts every page a process maps, so the pages of the `node` binary (60–70 MiB, file-backed, shared by every Node process on the machine) are counted in full by each worker: the column \"of it, the program file\" gives them (from /proc/PID/smaps: the mappings of the process's own executable; nginx's binary is about 1 MiB), and the next column the RSS without them, which is what the cache's own code and data hold. No setting of the cache makes the binary's pages fewer, so RSS per worker stays above the binary's 60–70 MiB whatever the cache does; PSS divides each shared page among the processes mapping it, so with 2 workers the binary counts half in each (and less still while other Node processes run on the machine, as they do here: the bench's own runner among them); private is what no other process maps, what stopping the process gives back. All processes of a system summed; in brackets ÷ workers.",
    "",
    "| system | idle, filled: RSS (MiB) | idle: PSS (MiB) | warm, after the rounds: RSS (MiB) | warm: of it, the program file (MiB) | warm: RSS without the program file (MiB) | warm: PSS (MiB) | warm: private (MiB) | peak RSS during the rounds (MiB) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

const workersOf = (key) => Number(/-(\d+)$/.exec(key)?.[1] ?? 1);

/** Issue 22's targets on the regmirror rows (per worker count), against nginx static alike. */
export function requestRateTargets(rates) {
  const targets = [];
  const checks = [
    ["small", 0.5, "small blob GET"],
    ["manifest-digest", 0.7, "manifest GET by digest"],
    ["large", 0.9, "large blob GET"],
  ];
  for (const [key, entry] of Object.entries(rates.systems)) {
    if (!key.startsWith("regmirror") || key.startsWith("regmirror-baseline")) continue;
    const ceiling = rates.systems[ceilingFor(key, rates.systems)];
    for (const [workload, goal, title] of checks) {
      const factor = ratioTo(entry.results[workload], ceiling?.results[workload]);
      targets.push({
        target: `${entry.label}: ${title} ≥ ${goal}× ${ceiling?.label ?? "nginx static"}`,
        figure: factor === undefined ? "—" : `${factor.toFixed(2)}×`,
        reached: factor === undefined ? "not measured" : factor >= goal ? "yes" : "no",
      });
    }
    const workers = workersOf(key);
    const perWorker = entry.peakBytes / workers;
    targets.push({
      target: `${entry.label}: warm resident memory < 100 MiB per worker (peak RSS, all processes ÷ workers)`,
      figure: `${mebibytes(perWorker)} MiB`,
      reached: perWorker < 100 * 1048576 ? "yes" : "no",
    });
    const withoutProgram = (entry.warm.residentBytes - entry.warm.programBytes) / workers;
    targets.push({
      target: `${entry.label}: the same, as RSS after the rounds without the node binary's pages ÷ workers`,
      figure: `${mebibytes(withoutProgram)} MiB`,
      reached: withoutProgram < 100 * 1048576 ? "yes" : "no",
    });
    const proportional = entry.warm.proportionalBytes / workers;
    targets.push({
      target: `${entry.label}: the same, as PSS after the rounds (the shared node binary divided) ÷ workers`,
      figure: `${mebibytes(proportional)} MiB`,
      reached: proportional < 100 * 1048576 ? "yes" : "no",
    });
  }
  return targets;
}

export function renderRequestRates(rates, options) {
  const loads = rates.loads;
  const targets = requestRateTargets(rates);
  return [
    "## Request rates, interleaved (issue 22)",
    "",
    `All systems run at once, each filled first (every path fetched once, unmeasured) and warmed by a 1 s run of each workload. Then ${options.rateRounds} round(s): in each round every workload runs against every system in turn (A B C D, A B C D, …), ${options.rateSeconds} s each, so that load from elsewhere on the machine falls on all systems alike. GETs are timed by \`wrk\` (native, ${options.rateThreads} thread(s), ${options.rateConnections} connections, kept alive; the large blob with ${options.largeConnections}); HEADs by the undici loop (${options.rateConnections} concurrent requests, kept alive), because wrk waits for a body after a HEAD. wrk checks statuses only, so the runner counts a run whose bytes read per request are not the body plus a response head as an error. The median round is shown with the range of the rounds and the 1-minute load average before each round (load during this section: ${fixed(Math.min(...loads), 2)}–${fixed(Math.max(...loads), 2)}). nginx runs with \`worker_processes\` set to the number in its label; distribution's proxy (Go) uses every core. The ratio compares each system with nginx static with the same number of workers (nginx static with 1 worker for the systems without workers). The client runs on the same 2 cores: at these rates it takes a core of its own, so a figure near nginx static's is partly the client's limit. CPU per request is the system's CPU time (user + system, all its processes and threads, from /proc/PID/stat, 10 ms ticks) during the run divided by the requests answered: unlike the rate, it hardly moves with the load on the machine, so it is the figure to compare two builds by.`,
    "",
    ...rates.workloads.flatMap((workload) => [workloadTable(rates, workload), ""]),
    "### Resident memory during the request-rate rounds",
    "",
    memoryTable(rates),
    "",
    "### Targets (issue 22)",
    "",
    "| target | measured | reached |",
    "|---|---:|:---:|",
    ...targets.map((target) => `| ${target.target} | ${target.figure} | ${target.reached} |`),
    "",
  ].join("\n");
}
