// What the reliability battery shares: the daemon process (the production bundle) on a
// distribution proxy file plus regmirror keys, and the checks a user would make afterwards —
// what a client received, whether the store holds anything that is not what its name says,
// whether downloads left files behind.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { freePort } from "@regmirror/test-kit";
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
  addr: 127.0.0.1:${await freePort()}
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

/** What a client got: the status, the bytes, and whether the response ended as complete. */
export interface Received {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body ended cleanly with as many bytes as Content-Length announced. */
  complete: boolean;
}

/** A GET that keeps whatever arrived, also when the connection is cut. */
export function receive(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Received> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (clean: boolean) => {
        if (settled) return;
        settled = true;
        const body = Buffer.concat(chunks);
        const declared = Number(response.headers["content-length"]);
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body,
          complete:
            clean && response.complete && (Number.isNaN(declared) || declared === body.length),
        });
      };
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("end", () => finish(true));
      response.once("error", () => finish(false));
      response.once("close", () => finish(false));
    });
    request.once("error", reject);
    request.end();
  });
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

/** Polls until `check` holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends raw bytes on a new connection and returns everything the server sent until it closed. */
export function rawExchange(
  baseUrl: string,
  bytes: string,
): Promise<{ text: string; closed: boolean }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: false });
    }, 10_000);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: true });
    });
    socket.write(bytes);
  });
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
