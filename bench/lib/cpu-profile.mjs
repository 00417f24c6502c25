// Summarises a V8 .cpuprofile (from node --cpu-prof): self time per function, largest first,
// each with the JavaScript functions that called it most (native frames name no file, so the
// caller is what says which part of the cache spent the time).
import { readFileSync } from "node:fs";

function frameName(node) {
  const frame = node.callFrame;
  const file = frame.url
    ? frame.url.replace(/^file:\/\//, "").replace(/^.*\/work\/main\//, "")
    : "";
  return `${frame.functionName || "(anonymous)"}${file ? ` ${file}:${frame.lineNumber + 1}` : ""}`;
}

/**
 * Self time per function over the samples taken between `fromMicroseconds` and
 * `toMicroseconds` (CLOCK_MONOTONIC, the clock of process.hrtime in any process on the machine,
 * which V8 also stamps its samples with); the whole profile without them.
 */
export function topSelfTime(profilePath, { count = 20, fromMicroseconds, toMicroseconds } = {}) {
  const profile = JSON.parse(readFileSync(profilePath, "utf8"));
  const from = fromMicroseconds ?? profile.startTime;
  const to = toMicroseconds ?? profile.endTime;
  const hitCounts = new Map();
  let time = profile.startTime;
  let sampleCount = 0;
  profile.samples.forEach((nodeId, index) => {
    time += profile.timeDeltas[index] ?? 0;
    if (time < from || time > to) return;
    sampleCount += 1;
    hitCounts.set(nodeId, (hitCounts.get(nodeId) ?? 0) + 1);
  });
  for (const node of profile.nodes) node.hitCount = hitCounts.get(node.id) ?? 0;
  const totalMicroseconds = Math.min(to, profile.endTime) - Math.max(from, profile.startTime);
  sampleCount ||= 1;
  const microsecondsPerSample = totalMicroseconds / sampleCount;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node);
  }
  /** The nearest ancestor that is JavaScript with a file (skipping native frames). */
  const callerOf = (node) => {
    for (let parent = parentOf.get(node.id); parent; parent = parentOf.get(parent.id)) {
      if (parent.callFrame.url) return frameName(parent);
    }
    return "(no JavaScript caller)";
  };
  const byFunction = new Map();
  for (const node of byId.values()) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const name = frameName(node);
    const entry = byFunction.get(name) ?? { hits: 0, callers: new Map() };
    entry.hits += hits;
    const caller = callerOf(node);
    entry.callers.set(caller, (entry.callers.get(caller) ?? 0) + hits);
    byFunction.set(name, entry);
  }
  const idle = byFunction.get("(idle)")?.hits ?? 0;
  const busySamples = sampleCount - idle;
  return {
    totalSeconds: totalMicroseconds / 1e6,
    busySeconds: (busySamples * microsecondsPerSample) / 1e6,
    top: [...byFunction.entries()]
      .filter(([name]) => name !== "(idle)")
      .sort((a, b) => b[1].hits - a[1].hits)
      .slice(0, count)
      .map(([name, entry]) => ({
        name,
        selfMs: (entry.hits * microsecondsPerSample) / 1000,
        percentOfBusy: (100 * entry.hits) / (busySamples || 1),
        callers: [...entry.callers.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 2)
          .map(([caller, hits]) => `${caller} (${Math.round((100 * hits) / entry.hits)}%)`),
      })),
  };
}
