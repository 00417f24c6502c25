// The native load generator: wrk (Debian) for timed GET workloads. It cannot time HEAD (it
// waits for a body that never comes), so HEAD rates come from the undici loop in workloads.mjs.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./processes.mjs";

const byteUnits = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const timeUnits = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function bytesOf(text) {
  const match = /^([\d.]+)([KMGT]?B)$/.exec(text);
  if (!match) throw new Error(`wrk: cannot read the byte count "${text}"`);
  return Number(match[1]) * byteUnits[match[2]];
}

function millisecondsOf(text) {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  return match ? Number(match[1]) * timeUnits[match[2]] : Number.NaN;
}

/** wrk's summary (run with --latency) as numbers; throws when the output is not wrk's. */
export function parseWrkOutput(output) {
  const totals = /(\d+) requests in ([\d.]+)(\w+), ([\d.]+[KMGT]?B) read/.exec(output);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (!totals || !rate) throw new Error(`wrk printed no summary:\n${output.slice(-600)}`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    output,
  );
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const requests = Number(totals[1]);
  const seconds = millisecondsOf(`${totals[2]}${totals[3]}`) / 1000;
  const errorCount =
    Number(non2xx?.[1] ?? 0) +
    (socketErrors ? socketErrors.slice(1).reduce((sum, value) => sum + Number(value), 0) : 0);
  return {
    requests,
    seconds,
    requestsPerSecond: Number(rate[1]),
    bytesPerSecond: bytesOf(totals[4]) / seconds,
    bytesPerRequest: bytesOf(totals[4]) / Math.max(requests, 1),
    p50Ms: millisecondsOf(/^\s+50%\s+(\S+)/m.exec(output)?.[1] ?? ""),
    p99Ms: millisecondsOf(/^\s+99%\s+(\S+)/m.exec(output)?.[1] ?? ""),
    errors: errorCount,
    firstError:
      errorCount > 0 ? `${non2xx?.[0] ?? ""} ${socketErrors?.[0] ?? ""}`.trim() : undefined,
  };
}

/**
 * A Lua script that sends GETs to `paths` in turn (wrk's own `request` hook), so one run
 * spreads over many blobs instead of asking for one file again and again.
 */
export async function writePathRotation(directory, name, paths) {
  const scriptPath = join(directory, `${name}.lua`);
  const list = paths.map((path) => `  ${JSON.stringify(path)},`).join("\n");
  await writeFile(
    scriptPath,
    `-- ${name}: GET each path in turn\nlocal paths = {\n${list}\n}\nlocal next_index = 0\nrequest = function()\n  next_index = next_index % #paths + 1\n  return wrk.format("GET", paths[next_index])\nend\n`,
  );
  return scriptPath;
}

/**
 * `wrk -t threads -c connections -d seconds` on `url` (or on the paths of `script` against
 * its origin) with `headers`; resolves the parsed summary.
 */
export async function runWrk({ url, seconds, connections, threads = 1, headers = {}, script }) {
  const args = [
    "--latency",
    "-t",
    String(threads),
    "-c",
    String(connections),
    "-d",
    `${seconds}s`,
    "--timeout",
    "30s",
  ];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  if (script) args.push("-s", script);
  args.push(url);
  const result = await runCommand("wrk", args, { timeoutMs: (seconds + 60) * 1000 });
  if (result.code !== 0) {
    throw new Error(`wrk exited ${result.code}: ${`${result.stdout}${result.stderr}`.slice(-400)}`);
  }
  return parseWrkOutput(result.stdout);
}
