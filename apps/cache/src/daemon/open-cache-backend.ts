/**
 * The storage side of the cache, shared by `serve` and `warm`: the blob store the
 * configuration names (filesystem or S3, with TTL and size cap) and the pull-through storage
 * over it. Closing closes both, downloads first, then the store (which writes down its state).
 */
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type BlobStore,
  createFilesystemBlobStore,
  createS3BlobStore,
  type EvictionEvent,
  type LifecycleOptions,
  type S3Credentials,
} from "@regmirror/blob-store";
import { describeError } from "@regmirror/core";
import type { EffectiveCacheConfig, StorageConfig } from "@regmirror/schemas";
import type { Logger } from "pino";
import { followDnsMembers } from "../peers/dns-members.js";
import { followEndpointSlices } from "../peers/endpoint-slice-members.js";
import type { MembersWatch } from "../peers/follow-members.js";
import { createPeerMembership, type PeerMembership } from "../peers/peer-membership.js";
import { noopPeerMetrics, type PeerMetrics } from "../peers/peer-metrics.js";
import { sweepTurn } from "../peers/sweep-turn.js";
import {
  createPullThroughStorage,
  PullThroughError,
  type PullThroughMetrics,
  type PullThroughStorage,
  type UpstreamClientOptions,
} from "../pull-through/index.js";

export interface CacheBackend {
  readonly blobStore: BlobStore;
  readonly storage: PullThroughStorage;
  /** The replicas sharing downloads with this one; undefined without regmirror.peers. */
  readonly peers: PeerMembership | undefined;
  close(): Promise<void>;
}

export interface CacheBackendOptions {
  config: EffectiveCacheConfig;
  logger: Logger;
  /** Names this process in a filesystem store's lock ("regmirror-cache serve"). */
  owner?: string;
  metrics?: PullThroughMetrics;
  onEvict?: (event: EvictionEvent) => void;
  upstreamClient?: UpstreamClientOptions;
  peerMetrics?: PeerMetrics;
}

function s3Credentials(storage: Extract<StorageConfig, { kind: "s3" }>): S3Credentials | undefined {
  const { credentials } = storage;
  if (credentials.mode === "static") {
    return {
      accessKeyId: credentials.accessKeyId.reveal(),
      secretAccessKey: credentials.secretAccessKey.reveal(),
      ...(credentials.sessionToken === null
        ? {}
        : { sessionToken: credentials.sessionToken.reveal() }),
    };
  }
  if (
    credentials.mode === "web-identity" &&
    credentials.roleArn !== null &&
    credentials.tokenFile !== null
  ) {
    return { roleArn: credentials.roleArn, webIdentityTokenFile: credentials.tokenFile };
  }
  // env, or web-identity from AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE: the SDK's default chain.
  return undefined;
}

export async function openBlobStore(
  config: EffectiveCacheConfig,
  lifecycle: LifecycleOptions,
  owner?: string,
): Promise<BlobStore> {
  const { storage } = config;
  if (storage.kind === "filesystem") {
    return createFilesystemBlobStore({
      ...lifecycle,
      rootDirectory: resolve(storage.rootDirectory),
      ...(owner === undefined ? {} : { owner }),
    });
  }
  const credentials = s3Credentials(storage);
  return createS3BlobStore({
    ...lifecycle,
    bucket: storage.bucket,
    region: storage.region,
    forcePathStyle: storage.forcePathStyle,
    prefix: storage.prefix === "" ? "" : `${storage.prefix}/`,
    ...(storage.endpoint === null ? {} : { endpoint: storage.endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
  });
}

async function readPeerCa(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new PullThroughError(
      "INVALID_OPTIONS",
      `regmirror.peers.tls.caFile ${file} cannot be read: ${describeError(error)}`,
    );
  }
}

/** Downloads are spooled next to a filesystem store, else in the temporary directory. */
function spoolDirectory(storage: StorageConfig): string {
  return storage.kind === "filesystem"
    ? join(resolve(storage.rootDirectory), "spool")
    : join(tmpdir(), "regmirror-cache-spool");
}

export async function openCacheBackend(options: CacheBackendOptions): Promise<CacheBackend> {
  const { config, logger } = options;
  const lifecycle: LifecycleOptions = { logger: logger.child({ component: "blob-store" }) };
  if (config.blobTtlMs !== null) lifecycle.ttlMs = config.blobTtlMs;
  if (config.sizeCap !== null) {
    lifecycle.maxBytes = config.sizeCap.maxBytes;
    lifecycle.lowWaterBytes = config.sizeCap.lowWaterBytes;
  }
  if (options.onEvict !== undefined) lifecycle.onEvict = options.onEvict;
  const peersConfig = config.peers;
  const peerMetrics = options.peerMetrics ?? noopPeerMetrics;
  let membership: PeerMembership | undefined;
  let membersWatch: MembersWatch | undefined;
  if (peersConfig !== null) {
    const source = peersConfig.members;
    membership = createPeerMembership(
      peersConfig.self,
      source.kind === "static" ? source.urls : [],
      peerMetrics,
    );
  }
  // Replicas on one bucket: one of them evicts, with a view of the whole bucket (ADR 0038).
  if (membership !== undefined && config.storage.kind === "s3") {
    lifecycle.shared = sweepTurn(membership);
  }
  const blobStore = await openBlobStore(config, lifecycle, options.owner);
  if (peersConfig !== null && membership !== undefined) {
    const source = peersConfig.members;
    const peersLogger = logger.child({ component: "peers" });
    if (source.kind === "kubernetes") {
      membersWatch = followEndpointSlices(source, membership, peerMetrics, peersLogger);
    } else if (source.kind === "dns") {
      membersWatch = followDnsMembers(source, membership, peerMetrics, peersLogger);
    }
  }
  let storage: PullThroughStorage;
  try {
    const peerTls =
      peersConfig?.tls == null
        ? undefined
        : {
            ca: await readPeerCa(peersConfig.tls.caFile),
            serverName: peersConfig.tls.serverName ?? undefined,
          };
    storage = await createPullThroughStorage({
      upstreams: config.upstreams,
      defaultUpstream: config.defaultUpstream,
      blobStore,
      spoolDirectory: spoolDirectory(config.storage),
      tagFreshnessMs: config.tagFreshnessMs,
      upstreamBounds: config.upstreamBounds,
      rateLimits: config.rateLimits,
      blobRedirect: config.blobRedirect,
      logger: logger.child({ component: "pull-through" }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      ...(options.upstreamClient === undefined ? {} : { upstreamClient: options.upstreamClient }),
      ...(peersConfig === null || membership === undefined
        ? {}
        : {
            peers: {
              membership,
              secret: peersConfig.secret.reveal(),
              timeoutMs: peersConfig.timeoutMs,
              metrics: peerMetrics,
              tls: peerTls,
            },
          }),
    });
  } catch (error) {
    membersWatch?.close();
    await blobStore.close();
    throw error;
  }
  return {
    blobStore,
    storage,
    peers: membership,
    async close() {
      membersWatch?.close();
      await storage.close();
      await blobStore.close();
    },
  };
}
