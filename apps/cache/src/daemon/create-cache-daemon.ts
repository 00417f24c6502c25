/**
 * The cache daemon: the backend (blob store + pull-through storage), the registry handler,
 * client auth, TLS with certificate reloading, metrics, health, access logs, periodic sweeps of
 * the store, and a graceful close (docs: apps/cache/README.md, "Operations").
 */
import { chmod, rm } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { RegistryHandler } from "@regmirror/oci-distribution";
import {
  cacheConfigDefaults,
  type EffectiveCacheConfig,
  formatListenAddress,
  type ListenAddress,
} from "@regmirror/schemas";
import type { Logger } from "pino";
import { type ClientAuth, openClientAuth } from "../auth/client-auth.js";
import { createHtpasswdClientAuth, tokenPath } from "../auth/htpasswd-client-auth.js";
import { loadHtpasswdFile } from "../auth/htpasswd-file.js";
import { buildInfo } from "../build-info.js";
import type { FinishedRequest } from "../logging/access-log.js";
import { requestEntries } from "../logging/request-entries.js";
import { type CacheMetrics, createCacheMetrics } from "../metrics/cache-metrics.js";
import type { UpstreamClientOptions } from "../pull-through/index.js";
import {
  loadTlsOptions,
  type TlsCertificateReloader,
  watchTlsCertificate,
} from "../tls/tls-certificate-reloader.js";
import {
  countsOfWorkers,
  metricsOfWorkers,
  notCountingRequests,
} from "../workers/metrics-across-workers.js";
import { createOtherWorkerHandlers, type WorkerRole } from "../workers/worker-role.js";
import { recordingCacheOutcomes } from "./cache-outcome.js";
import {
  type CacheRequestHandlerOptions,
  createCacheRequestHandler,
  type DaemonState,
  type OwnRoute,
} from "./cache-request-handler.js";
import { answerClientError } from "./client-error-answer.js";
import { createMainListener } from "./main-listener.js";
import type { CacheBackend } from "./open-cache-backend.js";

/**
 * The pull-through backend and what serves it, loaded only by a process that has a backend:
 * a worker other than the first loads none of it (docs/adr/0040-memory-per-worker.md).
 */
const loadBackendRoutes = () => import("./backend-routes.js");

export interface CacheDaemonOptions {
  config: EffectiveCacheConfig;
  logger: Logger;
  /** How often the store drops expired content and enforces the size cap. Default 60 s. */
  sweepIntervalMs?: number;
  /** Largest request head accepted (larger: 431). Default 16 KiB, as node's. */
  maxHeaderBytes?: number;
  upstreamClient?: UpstreamClientOptions;
  /** How often the TLS files are re-read even without a change event. Default 60 s. */
  tlsPollIntervalMs?: number;
  /** One of several worker processes (docs/adr/0036-worker-processes.md); absent: the only one. */
  worker?: WorkerRole;
}

export interface CacheDaemonAddress {
  /** `http(s)://host:port` of the registry listener (0.0.0.0 shown as 127.0.0.1). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The metrics listener's URL when it has its own address. */
  readonly metricsUrl: string | undefined;
}

export interface CacheDaemon {
  listen(): Promise<CacheDaemonAddress>;
  /** Set once listening. */
  readonly address: CacheDaemonAddress | undefined;
  readonly metrics: CacheMetrics;
  /** The store and the pull-through storage; absent in a worker other than the first. */
  readonly backend: CacheBackend | undefined;
  /**
   * Stops accepting connections and fails /readyz, lets requests under way finish for up to
   * the shutdown grace, then cuts what is left and closes the store (writing down its state).
   */
  close(): Promise<void>;
}

/** With `reusePort`, every worker binds the port and the kernel spreads connections. */
function listenOn(server: Server, address: ListenAddress, reusePort = false): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: address.port, host: address.host, reusePort }, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function urlOf(protocol: "http" | "https", info: AddressInfo): string {
  const host =
    info.address === "0.0.0.0"
      ? "127.0.0.1"
      : info.address === "::"
        ? "[::1]"
        : info.family === "IPv6"
          ? `[${info.address}]`
          : info.address;
  return `${protocol}://${host}:${info.port}`;
}

async function createClientAuth(
  config: EffectiveCacheConfig,
  backend: CacheBackend | undefined,
  logger: Logger,
  tokenSecret: string | undefined,
): Promise<ClientAuth> {
  const { auth } = config;
  if (auth.mode === "htpasswd") {
    return createHtpasswdClientAuth({
      htpasswd: await loadHtpasswdFile(auth.htpasswdFile),
      realm: auth.realm,
      // From the configuration only, never from a request's Host header (ADR 0014).
      tokenRealm: config.publicUrl === null ? null : `${config.publicUrl}${tokenPath}`,
      tokenTtlMs: auth.tokenTtlMs,
      secret: tokenSecret ?? config.httpSecret?.reveal(),
    });
  }
  // Another worker passes every request of a pass-through cache to the first (ADR 0036).
  if (auth.mode === "pass-through" && backend !== undefined) {
    const { createPassThroughClientAuth } = await loadBackendRoutes();
    return createPassThroughClientAuth({
      router: backend.storage.router,
      decisionTtlMs: auth.decisionTtlMs,
      realm: cacheConfigDefaults.authRealm,
      logger: logger.child({ component: "auth" }),
    });
  }
  return openClientAuth;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function createCacheDaemon(options: CacheDaemonOptions): Promise<CacheDaemon> {
  const { config, logger, worker } = options;
  const metrics = createCacheMetrics();
  const onEvict =
    worker?.kind === "first" ? worker.chainEvictions(metrics.onEvict) : metrics.onEvict;
  const backend =
    worker?.kind === "other"
      ? undefined
      : await (await loadBackendRoutes()).openCacheBackend({
          config,
          logger,
          owner: "regmirror-cache serve",
          metrics: recordingCacheOutcomes(metrics.pullThrough),
          onEvict,
          peerMetrics: metrics.peers,
          ...(options.upstreamClient === undefined
            ? {}
            : { upstreamClient: options.upstreamClient }),
        });
  if (backend !== undefined) {
    metrics.setUsageSource(() => backend.blobStore.usage());
    metrics.setUpstreamHealthSource(() => backend.storage.upstreamHealth());
    metrics.setRateLimitSource(() => backend.storage.upstreamRateLimits());
    if (worker?.kind === "first") worker.keepAccessesIn(backend.blobStore);
  }
  if (config.sizeCap !== null) metrics.setStoreCap(config.sizeCap.maxBytes);
  let auth: ClientAuth;
  let tls: Awaited<ReturnType<typeof loadTlsOptions>> | undefined;
  try {
    auth = await createClientAuth(config, backend, logger, worker?.tokenSecret);
    if (config.tls !== null) tls = await loadTlsOptions(config.tls);
  } catch (error) {
    await backend?.close();
    throw error;
  }

  const state: DaemonState = { ready: false, draining: false, inFlight: 0 };
  let onFinished: ((finished: FinishedRequest) => void) | undefined;
  const entries = requestEntries;
  const registryLogger = logger.child({ component: "registry" });
  // With several workers only the first listens on the metrics address (it answers for all).
  const separateMetrics =
    config.metrics.enabled && config.metrics.listen !== null && worker?.kind !== "other";
  const listenerMetrics = metricsOfWorkers(metrics, worker, config.metrics.path);
  const accessLogger = logger.child({ component: "access" });
  let registryHandler: RegistryHandler;
  let ownRoutes: OwnRoute[];
  if (backend === undefined) {
    // Another worker: the admin API and the status page are the first worker's (ADR 0036).
    const handlers = createOtherWorkerHandlers({
      config,
      auth,
      entries,
      logger: registryLogger,
      metrics: recordingCacheOutcomes(metrics.pullThrough),
      worker,
    });
    registryHandler = handlers.registryHandler;
    ownRoutes = [handlers.forwardToFirst];
  } else {
    ({ registryHandler, ownRoutes, onFinished } = (await loadBackendRoutes()).createBackendRoutes({
      config,
      backend,
      auth,
      metrics,
      entries,
      statusCounts: countsOfWorkers(metrics, worker),
      logger,
      registryLogger,
    }));
  }
  const mainMetricsPath =
    config.metrics.enabled && config.metrics.listen === null ? config.metrics.path : null;
  const mainHandlerOptions: CacheRequestHandlerOptions = {
    registryHandler,
    entries,
    auth,
    metrics: listenerMetrics,
    metricsPath: mainMetricsPath,
    servesRegistry: true,
    accessLog: config.log.accessLog,
    responseHeaders: config.responseHeaders,
    ownRoutes,
    ...(onFinished === undefined ? {} : { onFinished }),
    state,
    logger: accessLogger,
  };
  const mainHandler = createCacheRequestHandler(mainHandlerOptions);
  const maxHeaderSize = options.maxHeaderBytes ?? 16 * 1024;
  const listener = createMainListener({
    tls,
    http2: config.http2,
    maxHeaderSize,
    onRequest: mainHandler,
    onClientError: answerClientError,
  });
  const { server } = listener;
  // The first of several workers also serves the others, on a socket only they reach.
  let privateServer: Server | undefined;
  if (worker?.kind === "first") {
    privateServer = createHttpServer({ maxHeaderSize });
    privateServer.on(
      "request",
      createCacheRequestHandler({
        ...mainHandlerOptions,
        metrics: notCountingRequests(listenerMetrics),
      }),
    );
    privateServer.on("clientError", answerClientError);
  }
  let metricsServer: Server | undefined;
  if (separateMetrics) {
    metricsServer = createHttpServer({ maxHeaderSize });
    metricsServer.on(
      "request",
      createCacheRequestHandler({
        registryHandler,
        entries,
        auth,
        metrics: listenerMetrics,
        metricsPath: config.metrics.path,
        servesRegistry: false,
        accessLog: false,
        responseHeaders: {},
        state,
        logger: accessLogger,
      }),
    );
    metricsServer.on("clientError", answerClientError);
  }

  let reloader: TlsCertificateReloader | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let address: CacheDaemonAddress | undefined;
  let closing: Promise<void> | undefined;

  /** Whether the last sweep was left to another replica: said once each time it changes. */
  let sweepLeftToOther = false;

  async function sweep() {
    if (backend === undefined) return;
    try {
      const result = await backend.blobStore.sweep();
      metrics.storeSwept(result.skipped ? "skipped" : "swept");
      if (result.skipped !== sweepLeftToOther) {
        sweepLeftToOther = result.skipped;
        logger.info(
          { sweepKeyOwner: result.skipped ? "another replica" : "this replica" },
          result.skipped
            ? "store sweeps skipped: another replica sweeps the shared bucket"
            : "store sweeps run here: this replica sweeps the shared bucket",
        );
      }
      if (result.evicted.length > 0) logger.info({ evicted: result.evicted.length }, "store swept");
    } catch (error) {
      logger.warn({ error: (error as Error).message }, "store sweep failed");
    }
  }

  async function shutDown(): Promise<void> {
    state.ready = false;
    state.draining = true;
    clearInterval(sweepTimer);
    reloader?.close();
    logger.info(
      { inFlight: state.inFlight, graceMs: config.shutdownGraceMs },
      "draining: no new connections",
    );
    const closed = closeServer(server);
    listener.closeIdle();
    const deadline = Date.now() + config.shutdownGraceMs;
    while (state.inFlight > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      listener.closeIdle();
    }
    if (state.inFlight > 0)
      logger.warn({ inFlight: state.inFlight }, "shutdown grace over: cutting the requests left");
    await registryHandler.close();
    listener.closeAll();
    await closed;
    for (const extra of [metricsServer, privateServer]) {
      if (extra === undefined) continue;
      const extraClosed = closeServer(extra);
      extra.closeAllConnections();
      await extraClosed;
    }
    if (worker?.kind === "first") await rm(worker.privateSocket, { force: true });
    await backend?.close();
    logger.info({}, "stopped");
  }

  return {
    metrics,
    backend,
    get address() {
      return address;
    },
    async listen() {
      const listen =
        worker?.kind === "other" ? { ...config.listen, port: worker.start.port } : config.listen;
      const info = await listenOn(server, listen, worker !== undefined);
      if (privateServer !== undefined && worker?.kind === "first") {
        await rm(worker.privateSocket, { force: true });
        await new Promise<void>((resolve, reject) => {
          privateServer?.once("error", reject);
          privateServer?.listen(worker.privateSocket, () => resolve());
        });
        await chmod(worker.privateSocket, 0o600);
      }
      const metricsInfo =
        metricsServer && config.metrics.listen
          ? await listenOn(metricsServer, config.metrics.listen)
          : undefined;
      if (tls !== undefined && config.tls !== null) {
        reloader = watchTlsCertificate({
          files: config.tls,
          target: server as unknown as HttpsServer,
          initial: tls,
          logger: logger.child({ component: "tls" }),
          ...(options.tlsPollIntervalMs === undefined
            ? {}
            : { pollIntervalMs: options.tlsPollIntervalMs }),
        });
      }
      sweepTimer = setInterval(() => void sweep(), options.sweepIntervalMs ?? 60_000);
      sweepTimer.unref();
      worker?.started(info.port);
      address = {
        url: urlOf(listener.protocol, info),
        host: info.address,
        port: info.port,
        metricsUrl: metricsInfo === undefined ? undefined : urlOf("http", metricsInfo),
      };
      state.ready = true;
      logger.info(
        {
          listen: formatListenAddress(config.listen),
          url: address.url,
          version: buildInfo.version,
          http2: tls !== undefined && config.http2,
          metricsUrl: address.metricsUrl,
          auth: auth.mode,
          upstreams: config.upstreams.map((upstream) => upstream.name),
        },
        "listening",
      );
      return address;
    },
    close() {
      closing ??= shutDown();
      return closing;
    },
  };
}
