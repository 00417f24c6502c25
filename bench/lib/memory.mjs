// Memory of a system's processes: peak resident memory during a workload (the kernel's
// high-water mark VmHWM, reset at the start by writing 5 to /proc/PID/clear_refs — needs root or
// the process's owner — and VmRSS sampled as well, in case the reset is not allowed), and the
// resident, proportional (PSS) and private figures of a moment from /proc/PID/smaps_rollup.
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";

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

function rollupKilobytes(pid) {
  const fields = { Rss: 0, Pss: 0, Private_Clean: 0, Private_Dirty: 0 };
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    for (const name of Object.keys(fields)) {
      const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(rollup);
      if (match) fields[name] = Number(match[1]);
    }
  } catch {
    // The process is gone, or smaps_rollup is not readable: counted as 0.
  }
  return fields;
}

/**
 * Resident kilobytes of the pages of the process's own program file (for Node: the `node`
 * binary's code and read-only data, shared by every process running it), from /proc/PID/smaps.
 */
function programFileKilobytes(pid) {
  try {
    const program = readlinkSync(`/proc/${pid}/exe`);
    let inProgram = false;
    let kilobytes = 0;
    for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
      const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (mapping) inProgram = mapping[1] === program;
      else if (inProgram && line.startsWith("Rss:")) kilobytes += Number(/(\d+)/.exec(line)[1]);
    }
    return kilobytes;
  } catch {
    return 0;
  }
}

/**
 * The processes' memory right now, summed: `residentBytes` (RSS: every page mapped in, so the
 * pages of the `node` binary that all Node processes on the machine share are counted in full
 * by each), `proportionalBytes` (PSS: a shared page divided among the processes mapping it) and
 * `privateBytes` (pages no other process maps: what stopping the processes would give back) and
 * `programBytes` (the part of RSS that is the program file's own pages: for Node, the `node`
 * binary, which no setting of ours makes smaller).
 */
export function memoryNow(pids) {
  const total = { residentBytes: 0, proportionalBytes: 0, privateBytes: 0, programBytes: 0 };
  for (const pid of pids()) {
    const fields = rollupKilobytes(pid);
    total.programBytes += programFileKilobytes(pid) * 1024;
    total.residentBytes += fields.Rss * 1024;
    total.proportionalBytes += fields.Pss * 1024;
    total.privateBytes += (fields.Private_Clean + fields.Private_Dirty) * 1024;
  }
  return total;
}

/** Resident memory of the processes right now, summed. */
export function residentBytes(pids) {
  return pids().reduce((sum, pid) => sum + statusKilobytes(pid, "VmRSS"), 0) * 1024;
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on Linux). */
const ticksPerSecond = 100;

/**
 * CPU seconds the processes have used so far (user + system, every thread), summed: the
 * difference over a run divided by the requests gives the CPU cost of a request, which, unlike
 * the rate, hardly moves with the load others put on the machine.
 */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The fields after the command name (which may hold spaces) are space-separated;
      // utime and stime are the 14th and 15th of the whole line.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process is gone: its time is lost to the figure.
    }
  }
  return ticks / ticksPerSecond;
}
