/**
 * Durations in Go's syntax (`24h`, `30m`, `1h30m`, `1.5s`, `500ms`), which distribution, the MSR
 * docs, containerd and Kubernetes use, plus `d` for days. The one parser of the repository: the
 * cache configuration, the RegistryMirror spec, node-trust and every command-line flag read
 * durations through it, so `1m30s` means the same everywhere. Results are whole milliseconds.
 */

const millisecondsPerUnit: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const durationPattern = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+$/;
const durationPartPattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g;

/** Milliseconds of "1h30m" ("0" is 0); undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  if (!durationPattern.test(trimmed)) return undefined;
  let milliseconds = 0;
  for (const match of trimmed.matchAll(durationPartPattern)) {
    const [, amount = "", unit = ""] = match;
    milliseconds += Number(amount) * (millisecondsPerUnit[unit] ?? Number.NaN);
  }
  return Number.isFinite(milliseconds) ? Math.round(milliseconds) : undefined;
}

/** Formats milliseconds the way they are usually written: 1h30m, 24h, 500ms, 0s. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds === 0) return "0s";
  if (milliseconds < 1000) return `${milliseconds}ms`;
  const parts: string[] = [];
  let rest = milliseconds;
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.join("");
}
