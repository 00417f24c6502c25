// Peak resident memory of a system's processes during one workload. The kernel's high-water
// mark (VmHWM) is reset at the start (writing 5 to /proc/PID/clear_refs; needs root or the
// process's owner) and VmRSS is sampled as well, in case the reset is not allowed.
import { readFileSync, writeFileSync } from "node:fs";

function statusKilobytes(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Starts watching; `stop()` gives { peakBytes } over every process `pids()` names (summed). */
export function watchPeakMemory(pids, intervalMs = 100) {
  let resetWorked = true;
  for (const pid of pids()) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, "5");
    } catch {
      resetWorked = false;
    }
  }
  let sampledPeakKb = 0;
  const sample = () => {
    const total = pids().reduce((sum, pid) => sum + statusKilobytes(pid, "VmRSS"), 0);
    sampledPeakKb = Math.max(sampledPeakKb, total);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const highWaterKb = resetWorked
        ? pids().reduce((sum, pid) => sum + statusKilobytes(pid, "VmHWM"), 0)
        : 0;
      return { peakBytes: Math.max(sampledPeakKb, highWaterKb) * 1024 };
    },
  };
}

/** Resident memory of the processes right now, summed. */
export function residentBytes(pids) {
  return pids().reduce((sum, pid) => sum + statusKilobytes(pid, "VmRSS"), 0) * 1024;
}
