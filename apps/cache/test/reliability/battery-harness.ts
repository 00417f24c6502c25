// What the reliability battery shares: the daemon process (the production bundle) on a
// distribution proxy file plus regmirror keys, and the checks a user would make afterwards —
// what a client received, whether the store holds anything that is not what its name says,
// whether downloads left files behind.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually, type ReceivedResponse, receiveResponse } from "@regmirror/test-kit";
import { type CacheProcess, startCacheProcess } from "../daemon/cache-process.js";

export interface BatteryCacheOptions {
  bundle: string;
  /** Where the config file goes; the store is `<directory>/data` unless `storeDirectory`. */
  directory: string;
  storeDirectory?: string;
  /** The upstream (a fault proxy's URL). */
  upstreamUrl: string;
  /** Upstream credentials (distribution's proxy.username / password). */
  credentials?: { username: string; password: string };
  /** Lines of the `regmirror:` section, indented by two spaces. */
  regmirror?: string[];
}

export interface BatteryCache {
  process: CacheProcess;
  url: string;
  storeDirectory: string;
  configFile: string;
}

/** Writes the configuration and starts the daemon; `restart` reuses both. */
export async function startBatteryCache(options: BatteryCacheOptions): Promise<BatteryCache> {
  const storeDirectory = options.storeDirectory ?? join(options.directory, "data");
  const configFile = join(options.directory, "config.yml");
  const credentials = options.credentials
    ? `  username: ${options.credentials.username}\n  password: ${options.credentials.password}\n`
    : "";
  const regmirror = options.regmirror?.length
    ? `regmirror:\n${options.regmirror.join("\n")}\n`
    : "";
  await writeFile(
    configFile,
    `version: 0.1
log:
  level: debug
storage:
  filesystem:
    rootdirectory: ${storeDirectory}
http:
  addr: 127.0.0.1:0
proxy:
  remoteurl: ${options.upstreamUrl}
${credentials}${regmirror}`,
  );
  return restartBatteryCache(options.bundle, { configFile, storeDirectory }, options.directory);
}

export async function restartBatteryCache(
  bundle: string,
  cache: Pick<BatteryCache, "configFile" | "storeDirectory">,
  directory: string,
): Promise<BatteryCache> {
  const process = await startCacheProcess(bundle, [cache.configFile], directory);
  return { ...cache, process, url: process.url };
}

export function sha256Of(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A GET of `path` on the cache (see test-kit's receiveResponse). */
export function receive(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<ReceivedResponse> {
  return receiveResponse(new URL(path, baseUrl).href, headers);
}

/**
 * Every blob file under the store whose content does not hash to its name, and every file
 * left in the spool or the store's tmp/ (nothing may be, once downloads are over).
 */
export async function inspectStore(
  storeDirectory: string,
): Promise<{ wrongBlobs: string[]; leftovers: string[]; blobs: string[] }> {
  const wrongBlobs: string[] = [];
  const blobs: string[] = [];
  const blobRoot = join(storeDirectory, "blobs", "sha256");
  for (const shard of await readdir(blobRoot).catch(() => [])) {
    for (const name of await readdir(join(blobRoot, shard))) {
      const hash = createHash("sha256");
      for await (const chunk of createReadStream(join(blobRoot, shard, name))) hash.update(chunk);
      blobs.push(`sha256:${name}`);
      if (hash.digest("hex") !== name) wrongBlobs.push(`sha256:${name}`);
    }
  }
  const leftovers: string[] = [];
  for (const directory of ["spool", "tmp"]) {
    for (const name of await readdir(join(storeDirectory, directory)).catch(() => [])) {
      leftovers.push(`${directory}/${name}`);
    }
  }
  return { wrongBlobs, leftovers, blobs };
}

/** Polls until `check` holds; the error names `what`. */
export function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  return eventually(
    async () => {
      if (!(await check())) throw new Error(`gave up waiting for ${what}`);
    },
    timeoutMs,
    50,
  );
}

/** The value of a Prometheus sample, summed over the lines that contain `labels`. */
export async function metricValue(baseUrl: string, name: string, labels = ""): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`);
  let total = 0;
  for (const line of (await response.text()).split("\n")) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(labels)) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}
