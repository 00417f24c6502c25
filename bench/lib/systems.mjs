// The upstream registry, the counting proxy in front of it, and the four systems under test.
// Each start function returns { key, label, url, pids(), stop() }.
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { nginxProxyCacheConfig, nginxStaticConfig } from "./nginx-config.mjs";
import { freePort } from "./ports.mjs";
import { startProcess, waitUntilReady } from "./processes.mjs";
import { Agent, request } from "./undici.mjs";

export const nginxBinary = "/usr/sbin/nginx";

/** Any HTTP answer on /v2/ means the server is serving. */
async function answersV2(url, dispatcher) {
  const response = await request(`${url}/v2/`, {
    headersTimeout: 2000,
    bodyTimeout: 2000,
    ...(dispatcher ? { dispatcher } : {}),
  });
  await response.body.dump();
  return response.statusCode > 0;
}

/** distribution's config.yml; JSON is YAML, so no YAML library is needed. */
function distributionConfig({ rootDirectory, port, remoteUrl, credentials, tls, native }) {
  const config = {
    version: 0.1,
    log: { level: "warn", accesslog: { disabled: true } },
    storage: {
      cache: { blobdescriptor: "inmemory" },
      filesystem: { rootdirectory: rootDirectory },
      delete: { enabled: true },
    },
    http: { addr: `127.0.0.1:${port}` },
  };
  if (remoteUrl) config.proxy = { remoteurl: remoteUrl, ...credentials };
  if (tls) config.http.tls = { certificate: tls.certificate, key: tls.key };
  if (native) config.regmirror = native;
  return JSON.stringify(config, null, 2);
}

/** A distribution config.yml in `directory` for a free port; the store under `directory/data` by default. */
async function writeConfig(directory, { dataDirectory, ...settings }) {
  await mkdir(directory, { recursive: true });
  const port = await freePort();
  const configPath = join(directory, "config.yml");
  const rootDirectory = dataDirectory ?? join(directory, "data");
  await writeFile(configPath, distributionConfig({ rootDirectory, port, ...settings }));
  return { port, configPath };
}

async function startDockerRegistry({ name, directory, remoteUrl, dataDirectory, credentials }) {
  const { port, configPath } = await writeConfig(directory, {
    dataDirectory,
    remoteUrl,
    credentials,
  });
  const child = startProcess({
    name,
    command: "docker-registry",
    args: ["serve", configPath],
    cwd: directory,
    logPath: join(directory, "registry.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(child, () => answersV2(url));
  return { url, host: `127.0.0.1:${port}`, process: child };
}

/** The upstream every system pulls from: a plain docker-registry. */
export async function startUpstream(workDirectory) {
  const registry = await startDockerRegistry({
    name: "upstream docker-registry",
    directory: join(workDirectory, "upstream"),
  });
  return { ...registry, stop: () => registry.process.stop() };
}

/** The counting proxy in front of the upstream (its own process); see counting-proxy.mjs. */
export async function startCountingProxy(workDirectory, upstreamUrl) {
  const port = await freePort();
  const child = startProcess({
    name: "counting proxy",
    command: process.execPath,
    args: [new URL("./counting-proxy.mjs", import.meta.url).pathname, String(port), upstreamUrl],
    logPath: join(workDirectory, "counting-proxy.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  const counters = async () => {
    const response = await request(`${url}/__bench/counters`);
    return response.body.json();
  };
  await waitUntilReady(child, () => counters().then(() => true));
  return {
    url,
    host: `127.0.0.1:${port}`,
    counters,
    reset: async () => {
      const response = await request(`${url}/__bench/reset`, { method: "POST" });
      await response.body.dump();
    },
    stop: () => child.stop(),
  };
}

/** Direct children of `pid` (nginx workers), from /proc. */
export function childPids(pid) {
  const children = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
      const parentPid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parentPid === pid) children.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return children;
}

/** `dataDirectory` and `credentials` ({ username, password }) are optional. */
export async function startDistributionProxy({
  workDirectory,
  remoteUrl,
  dataDirectory,
  credentials,
  name = "distribution-proxy",
}) {
  const registry = await startDockerRegistry({
    name: "docker-registry proxy",
    directory: join(workDirectory, name),
    remoteUrl,
    dataDirectory,
    credentials,
  });
  return {
    url: registry.url,
    host: registry.host,
    pids: () => [registry.process.pid],
    logPath: registry.process.logPath,
    kill: () => process.kill(registry.process.pid, "SIGKILL"),
    exited: registry.process.exited,
    stop: () => registry.process.stop(),
  };
}

/**
 * The regmirror cache daemon from apps/cache/dist, on the distribution proxy form of its
 * configuration (the file distribution's proxy gets, unchanged). With `cpuProfileDirectory`
 * it runs under `node --cpu-prof`; the profile is written when the daemon exits on SIGTERM.
 * With `tls` ({ certificate, key, certificatePem }) it serves HTTPS, HTTP/2 next to HTTP/1.1.
 */
export async function startRegmirrorCache({
  workDirectory,
  remoteUrl,
  cacheMain,
  cacheNodeFlags = [],
  environment = {},
  cpuProfileDirectory,
  dataDirectory,
  credentials,
  tls,
  name = "regmirror-cache",
  workers,
}) {
  const directory = join(workDirectory, name);
  const { port, configPath } = await writeConfig(directory, {
    dataDirectory,
    remoteUrl,
    credentials,
    tls,
    // The native section only when asked for, so the default run reads distribution's file.
    native: workers === undefined ? undefined : { workers },
  });
  const profileArguments = cpuProfileDirectory
    ? ["--cpu-prof", "--cpu-prof-dir", cpuProfileDirectory]
    : [];
  const child = startProcess({
    name: "regmirror cache",
    command: process.execPath,
    args: [...cacheNodeFlags, ...profileArguments, cacheMain, "serve", configPath],
    // The runner's own NODE_OPTIONS are not the daemon's.
    env: { ...process.env, NODE_OPTIONS: "", ...environment },
    cwd: directory,
    logPath: join(directory, "cache.log"),
  });
  const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const probe = tls ? new Agent({ connect: { ca: tls.certificatePem } }) : undefined;
  await waitUntilReady(child, () => answersV2(url, probe));
  await probe?.close();
  return {
    url,
    host: `127.0.0.1:${port}`,
    // With `workers`, the worker processes are the daemon's children.
    pids: () => [child.pid, ...childPids(child.pid)],
    logPath: child.logPath,
    kill: () => process.kill(child.pid, "SIGKILL"),
    exited: child.exited,
    stop: () => child.stop(30_000),
  };
}

async function startNginx({ name, prefix, config, url }) {
  for (const directory of [
    "client-body",
    "proxy-temp",
    "fastcgi-temp",
    "uwsgi-temp",
    "scgi-temp",
  ]) {
    await mkdir(join(prefix, directory), { recursive: true });
  }
  const configPath = join(prefix, "nginx.conf");
  await writeFile(configPath, config);
  const child = startProcess({
    name,
    command: nginxBinary,
    args: ["-p", prefix, "-e", join(prefix, "error.log"), "-c", configPath],
    logPath: join(prefix, "stdout.log"),
  });
  await waitUntilReady(child, () => answersV2(url));
  return {
    url,
    host: new URL(url).host,
    pids: () => [child.pid, ...childPids(child.pid)],
    stop: () => child.stop(),
  };
}

export async function startNginxProxyCache({
  workDirectory,
  upstreamHostPort,
  name = "nginx-proxy-cache",
  workers,
}) {
  const prefix = join(workDirectory, name);
  await mkdir(join(prefix, "cache"), { recursive: true });
  const port = await freePort();
  return startNginx({
    name: "nginx proxy_cache",
    prefix,
    url: `http://127.0.0.1:${port}`,
    config: nginxProxyCacheConfig({
      prefix,
      port,
      upstreamHostPort,
      cacheDirectory: join(prefix, "cache"),
      workers,
    }),
  });
}

export async function startNginxStatic({
  workDirectory,
  staticRoot,
  manifestMediaType,
  tags,
  name = "nginx-static",
  workers,
}) {
  const prefix = join(workDirectory, name);
  await mkdir(prefix, { recursive: true });
  const port = await freePort();
  return startNginx({
    name: "nginx static",
    prefix,
    url: `http://127.0.0.1:${port}`,
    config: nginxStaticConfig({
      prefix,
      port,
      root: staticRoot,
      manifestMediaType,
      tags,
      workers,
    }),
  });
}
