/**
 * Starts the pull-through storage as the daemon serves it — the daemon's registry handler
 * (`createCacheRegistryHandler`, without client auth), on node:http at 127.0.0.1 — over a
 * filesystem blob store in a temp directory. The upstreams are real docker-registry processes (usually behind the test
 * kit's fault proxy, which counts what the cache asks upstream).
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { type BlobStore, createFilesystemBlobStore } from "@regmirror/blob-store";
import type { EffectiveUpstream } from "@regmirror/schemas";
import {
  eventually,
  type FaultProxy,
  listenOnLoopback,
  makeTempDirectory,
  removeTempDirectory,
  stopAll,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import type { ClientAuth } from "../../src/auth/client-auth.js";
import { createCacheRegistryHandler } from "../../src/daemon/cache-registry-handler.js";
import {
  createPullThroughStorage,
  type PullThroughMetrics,
  type PullThroughStorage,
  type PullThroughStorageOptions,
} from "../../src/pull-through/index.js";
import { startFaultProxiedUpstream } from "../daemon/fault-proxied-upstream.js";

export interface CacheUnderTest {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, for image references */
  host: string;
  storage: PullThroughStorage;
  blobStore: BlobStore;
  spoolDirectory: string;
  metrics: CountingMetrics;
  stop(): Promise<void>;
}

export interface CountingMetrics extends PullThroughMetrics {
  /** `hook` or `hook:label` → sum of what was reported. */
  readonly totals: Map<string, number>;
  total(key: string): number;
}

export function countingMetrics(): CountingMetrics {
  const totals = new Map<string, number>();
  const add = (key: string, amount = 1) => totals.set(key, (totals.get(key) ?? 0) + amount);
  return {
    totals,
    total: (key) => totals.get(key) ?? 0,
    cacheHit: (kind) => add(`cacheHit:${kind}`),
    cacheMiss: (kind) => add(`cacheMiss:${kind}`),
    coalescedWaiter: (kind) => add(`coalescedWaiter:${kind}`),
    bytesServedFromCache: (bytes) => add("bytesServedFromCache", bytes),
    blobRedirected: () => add("blobRedirected", 1),
    bytesFromUpstream: (_upstream, bytes) => add("bytesFromUpstream", bytes),
    upstreamError: (_upstream, kind) => add(`upstreamError:${kind}`),
    upstreamLatency: (_upstream, operation) => add(`upstreamLatency:${operation}`),
    servedStale: (_upstream, kind) => add(`servedStale:${kind}`),
    blobNotStored: (_upstream, reason) => add(`blobNotStored:${reason}`),
    rateLimitSpared: () => add("rateLimitSpared"),
  };
}

/** An upstream as the config normalizer hands it to the daemon (no credentials, no CA). */
export function plainUpstream(
  name: string,
  hosts: string[],
  endpoints: string[],
): EffectiveUpstream {
  return { name, hosts, endpoints, credentials: { kind: "none" }, caFiles: [] };
}

export async function startCache(
  options: Pick<PullThroughStorageOptions, "upstreams" | "defaultUpstream"> &
    Partial<Omit<PullThroughStorageOptions, "blobStore" | "spoolDirectory" | "metrics">> & {
      /** The client auth the daemon's handler asks; default everyone may pull. */
      clientAuth?: (storage: PullThroughStorage) => ClientAuth;
      /** The store's size cap; default none. */
      storeMaxBytes?: number;
    },
): Promise<CacheUnderTest> {
  const directory = makeTempDirectory("regmirror-pull-through-");
  const { clientAuth, storeMaxBytes, ...storageOptions } = options;
  const blobStore = await createFilesystemBlobStore({
    rootDirectory: join(directory, "store"),
    maxBytes: storeMaxBytes,
  });
  const spoolDirectory = join(directory, "spool");
  const metrics = countingMetrics();
  const storage = await createPullThroughStorage({
    tagFreshnessMs: 0,
    ...storageOptions,
    blobStore,
    spoolDirectory,
    metrics,
  });
  const handler = createCacheRegistryHandler({
    storage,
    ...(clientAuth === undefined ? {} : { auth: clientAuth(storage) }),
  });
  const server: Server = createServer(handler);
  const port = await listenOnLoopback(server);
  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    storage,
    blobStore,
    spoolDirectory,
    metrics,
    stop() {
      stopped ??= (async () => {
        await handler.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await storage.close();
        await blobStore.close();
        await removeTempDirectory(directory);
      })();
      return stopped;
    },
  };
}

/** A cache in front of a real docker-registry that it reaches through a counting fault proxy. */
export interface ProxiedCache {
  upstream: UpstreamRegistry;
  proxy: FaultProxy;
  cache: CacheUnderTest;
  /** Stops the cache, the proxy and the registry. */
  stop(): Promise<void>;
}

/**
 * Starts docker-registry, the fault proxy in front of it, and a cache whose upstream
 * "test-upstream" answers for the registry's host (and `hosts`) through the proxy and is the
 * default upstream unless `defaultUpstream: null`; `moreUpstreams` adds upstreams that reach the
 * same proxy. The rest of `options` goes to the cache.
 */
export async function startProxiedCache(
  options: {
    hosts?: string[];
    moreUpstreams?: (proxy: FaultProxy) => EffectiveUpstream[];
  } & Partial<Parameters<typeof startCache>[0]> = {},
): Promise<ProxiedCache> {
  const { hosts = [], moreUpstreams, ...cacheOptions } = options;
  const proxied = await startFaultProxiedUpstream("regmirror-proxied-cache-");
  const { upstream, proxy } = proxied;
  const cache = await startCache({
    upstreams: [
      plainUpstream("test-upstream", [...hosts, upstream.host], [proxy.url]),
      ...(moreUpstreams?.(proxy) ?? []),
    ],
    defaultUpstream: "test-upstream",
    ...cacheOptions,
  });

  return { upstream, proxy, cache, stop: () => stopAll(cache, proxied) };
}

/** Another cache in front of `proxied`'s upstream, through the same counting proxy. */
export function startCacheBeside(
  proxied: ProxiedCache,
  options: Partial<Parameters<typeof startCache>[0]> = {},
): Promise<CacheUnderTest> {
  return startCache({
    upstreams: [plainUpstream("test-upstream", [proxied.upstream.host], [proxied.proxy.url])],
    defaultUpstream: "test-upstream",
    ...options,
  });
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export interface FetchedBody {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** A request to the cache, its body read whole (rejects when the connection is cut). */
export async function fetchAll(url: string, init: RequestInit = {}): Promise<FetchedBody> {
  const response = await fetch(url, init);
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body };
}

/** Polls `check` until it returns true; fails with `what` when the deadline passes. */
export function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  deadlineMs = 20_000,
): Promise<void> {
  return eventually(
    async () => {
      if (!(await check())) throw new Error(`gave up waiting for ${what}`);
    },
    deadlineMs,
    25,
  );
}

/** The GETs (not HEADs) a fault proxy forwarded for `digest`'s blob. */
export function blobGets(requests: { method: string; path: string }[], digest: string): number {
  return requests.filter(
    (request) => request.method === "GET" && request.path.includes(`/blobs/${digest}`),
  ).length;
}

export const manifestAccept = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** What a registry client does for one image: manifest by tag, then config and layers. */
export async function pullWithFetch(cacheUrl: string, repository: string, tag: string) {
  const manifest = await fetchAll(`${cacheUrl}/v2/${repository}/manifests/${tag}`, {
    headers: { accept: manifestAccept },
  });
  if (manifest.status !== 200) throw new Error(`manifest: HTTP ${manifest.status}`);
  const parsed = JSON.parse(manifest.body.toString("utf8")) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const digests = [parsed.config.digest, ...parsed.layers.map((layer) => layer.digest)];
  const blobs = await Promise.all(
    digests.map(async (digest) => {
      const blob = await fetchAll(`${cacheUrl}/v2/${repository}/blobs/${digest}`);
      return { digest, status: blob.status, computed: sha256(blob.body) };
    }),
  );
  return { manifestDigest: sha256(manifest.body), blobs };
}

/**
 * containerd resolves `registry.test` through hosts.toml: the cache is its only mirror, and the
 * server itself does not resolve, so a pull that works went through the cache (with `?ns=`).
 */
export function writeHostsToml(hostsDir: string, registry: string, mirrorUrl: string): void {
  mkdirSync(join(hostsDir, registry), { recursive: true });
  writeFileSync(
    join(hostsDir, registry, "hosts.toml"),
    `server = "https://${registry}"\n\n[host."${mirrorUrl}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
}
