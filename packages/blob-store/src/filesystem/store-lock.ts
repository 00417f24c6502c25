/**
 * One process owns a filesystem store (docs/adr/0015-filesystem-store-ownership-and-space.md):
 * it counts usage in memory and empties tmp/ at start-up, so a second process on the same
 * directory would corrupt both. The owner holds `<root>/lock`, a small JSON file naming it,
 * and touches it every few seconds. A lock is taken over only when its holder is gone: a dead
 * process on this host, or no heartbeat for `staleAfterMs` (another host, a reused pid).
 */
import { randomUUID } from "node:crypto";
import { link, open, readFile, rename, rm, stat, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { StoreLockedError } from "../errors.js";
import { errorCode, mapFilesystemError } from "./durable-file.js";

export interface LockHolder {
  pid: number;
  host: string;
  /** What the holder said it is, e.g. "regmirror-cache serve". */
  owner: string;
  since: string;
  token: string;
}

export interface StoreLock {
  release(): Promise<void>;
}

export interface StoreLockOptions {
  owner: string;
  heartbeatMs?: number;
  staleAfterMs?: number;
}

// Locks this process holds, shared by every copy of this package loaded into it: a second
// store on the same directory in one process is refused like one in another process.
const heldLocksKey = Symbol.for("regmirror.blob-store.held-locks");
const globals = globalThis as { [heldLocksKey]?: Set<string> };
globals[heldLocksKey] ??= new Set<string>();
const heldTokens: Set<string> = globals[heldLocksKey];

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM";
  }
}

async function readHolder(
  path: string,
): Promise<{ holder: LockHolder; ageMs: number } | undefined> {
  try {
    const [text, stats] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    const holder: LockHolder = {
      pid: Number(parsed.pid),
      host: String(parsed.host),
      owner: String(parsed.owner),
      since: String(parsed.since),
      token: String(parsed.token),
    };
    return { holder, ageMs: Date.now() - stats.mtimeMs };
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    // Unreadable or half-written (a crash while it was written): judged by its age alone.
    const stats = await stat(path).catch(() => undefined);
    if (stats === undefined) return undefined;
    const unknown = { pid: 0, host: "unknown", owner: "unknown", since: "unknown", token: "" };
    return { holder: unknown, ageMs: Date.now() - stats.mtimeMs };
  }
}

/** Whether the holder is certainly gone, so its lock may be taken over. */
function isStale(holder: LockHolder, ageMs: number, staleAfterMs: number): boolean {
  if (heldTokens.has(holder.token)) return false;
  if (ageMs > staleAfterMs) return true;
  if (holder.host !== hostname()) return false;
  // Our own pid in a lock we do not hold: an earlier run of this container (pid 1 again).
  return holder.pid === process.pid || !isAlive(holder.pid);
}

async function writeNewLock(path: string, holder: LockHolder): Promise<boolean> {
  const draft = `${path}.${holder.token}`;
  await rm(draft, { force: true });
  try {
    const handle = await open(draft, "wx");
    try {
      await handle.writeFile(`${JSON.stringify(holder)}\n`, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await rm(draft, { force: true });
    throw mapFilesystemError(error, path);
  }
  try {
    // link() fails when a lock exists: of two processes starting at once, one wins.
    await link(draft, path);
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  } finally {
    await rm(draft, { force: true });
  }
}

export async function acquireStoreLock(
  rootDirectory: string,
  options: StoreLockOptions,
): Promise<StoreLock> {
  const path = join(rootDirectory, "lock");
  const staleAfterMs = options.staleAfterMs ?? 30_000;
  const heartbeatMs = options.heartbeatMs ?? Math.floor(staleAfterMs / 3);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    owner: options.owner,
    since: new Date().toISOString(),
    token: randomUUID(),
  };
  for (let attempt = 0; ; attempt += 1) {
    if (await writeNewLock(path, holder)) break;
    const current = await readHolder(path);
    if (current === undefined) continue; // released meanwhile
    if (attempt >= 2 || !isStale(current.holder, current.ageMs, staleAfterMs)) {
      throw new StoreLockedError(rootDirectory, current.holder, current.ageMs, staleAfterMs);
    }
    // Move the stale lock aside; of two processes doing this at once only one can.
    const aside = `${path}.stale-${holder.token}`;
    try {
      await rename(path, aside);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
      continue;
    }
    const moved = await readHolder(aside);
    if (moved !== undefined && moved.holder.token !== current.holder.token) {
      // Someone took the lock between our look and the move: give it back and refuse.
      await rename(aside, path).catch(() => {});
      throw new StoreLockedError(rootDirectory, moved.holder, moved.ageMs, staleAfterMs);
    }
    await rm(aside, { force: true });
  }
  heldTokens.add(holder.token);

  // The heartbeat tells processes on other hosts that the holder is alive.
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, heartbeatMs);
  heartbeat.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      heldTokens.delete(holder.token);
      const current = await readHolder(path);
      if (current?.holder.token === holder.token) await rm(path, { force: true });
    },
  };
}
