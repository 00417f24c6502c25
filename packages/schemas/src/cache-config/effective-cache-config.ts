// EffectiveCacheConfig: the one configuration type the cache daemon uses.
import type { ConfigNotice } from "./config-problem.js";
import type { EnvironmentOverride } from "./environment-overrides.js";
import type { ListenAddress } from "./listen-address.js";
import type { SecretValue } from "./secret-value.js";

/** The input forms a file used; a file may combine distribution keys with `regmirror:`. */
export type ConfigForm =
  | "built-in-default"
  | "distribution"
  | "msr-downstream"
  | "distribution-proxy"
  | "native";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

export type UpstreamCredentials =
  | { readonly kind: "none" }
  | { readonly kind: "basic"; readonly username: string; readonly password: SecretValue }
  /** A Docker config.json; the entry for the upstream's host is used (auths / credHelpers). */
  | { readonly kind: "docker-config"; readonly file: string };

export interface EffectiveUpstream {
  /** Identifies the upstream in logs and metrics. */
  readonly name: string;
  /** The registry names clients use for it (`?ns=`, `/v2/<host>/...`), lowercase. */
  readonly hosts: readonly string[];
  /** Base URLs of the same registry, tried in order: the next one when one fails. */
  readonly endpoints: readonly string[];
  readonly credentials: UpstreamCredentials;
  /**
   * PEM files whose certificates are trusted for this upstream, on top of the operating system's
   * store and Node's bundled roots (its own `cas` / `caBundle`, then `regmirror.caBundles`).
   */
  readonly caFiles: readonly string[];
}

export type S3Credentials =
  | {
      readonly mode: "static";
      readonly accessKeyId: SecretValue;
      readonly secretAccessKey: SecretValue;
      readonly sessionToken: SecretValue | null;
    }
  /** The AWS SDK's default chain: AWS_* environment variables, shared files, instance roles. */
  | { readonly mode: "env" }
  /** IRSA-style: a role and a projected token file (defaults from AWS_ROLE_ARN etc. when null). */
  | {
      readonly mode: "web-identity";
      readonly roleArn: string | null;
      readonly tokenFile: string | null;
    };

export type StorageConfig =
  | { readonly kind: "filesystem"; readonly rootDirectory: string }
  | {
      readonly kind: "s3";
      readonly bucket: string;
      readonly region: string;
      readonly endpoint: string | null;
      readonly forcePathStyle: boolean;
      /** Key prefix inside the bucket, without leading or trailing slash ("" for none). */
      readonly prefix: string;
      readonly credentials: S3Credentials;
    };

export type CacheAuthConfig =
  | { readonly mode: "none" }
  /** Clients log in with an htpasswd user and receive bearer tokens from the cache. */
  | {
      readonly mode: "htpasswd";
      readonly htpasswdFile: string;
      readonly realm: string;
      readonly tokenTtlMs: number;
    }
  /** The client's own credentials are checked against upstream for each repository. */
  | { readonly mode: "pass-through"; readonly decisionTtlMs: number };

export interface UpstreamBounds {
  /** A tag (or tag list) the cache knows is answered from the cache when upstream is slower. */
  readonly staleAfterMs: number;
  /** Content the cache does not hold: 503 when upstream has not started answering by then. */
  readonly uncachedMs: number;
  readonly circuitBreaker: {
    /** Consecutive failed requests that mark an endpoint down; 0: never. */
    readonly failures: number;
    /** A down endpoint gets no requests this long, then one request probes it. */
    readonly openForMs: number;
  };
}

export type PeerMembersSource =
  | { readonly kind: "static"; readonly urls: readonly string[] }
  /** The ready endpoints of a Service's EndpointSlices, read again every `intervalMs`. */
  | {
      readonly kind: "kubernetes";
      readonly namespace: string;
      readonly service: string;
      readonly portName: string | null;
      readonly scheme: "http" | "https";
      readonly intervalMs: number;
      readonly apiServer: string;
      readonly tokenFile: string;
      readonly caFile: string;
    }
  /** The A and AAAA records of `name` on `port`, resolved again every `intervalMs`. */
  | {
      readonly kind: "dns";
      readonly name: string;
      readonly port: number;
      readonly scheme: "http" | "https";
      readonly intervalMs: number;
      /** The DNS server to ask (`ip` or `ip:port`); null: the system's resolvers. */
      readonly server: string | null;
    };

/**
 * Cache replicas that fetch each digest from upstream once between them
 * (docs/adr/0033-cache-peers.md): each digest has an owner among the members.
 */
export interface PeersConfig {
  /**
   * This replica's own URL, as the other members know it (one of `members`): `self`, or built
   * from `selfAddress` and the listener (http.addr's port, https with http.tls).
   */
  readonly self: string;
  /** Signs requests between replicas. */
  readonly secret: SecretValue;
  /** Where the member list comes from. */
  readonly members: PeerMembersSource;
  /** How long to wait for an owner's answer before the next member is asked. */
  readonly timeoutMs: number;
  /**
   * https members: the CA file to trust, and the name to check their certificates against
   * (null: the address dialled); null: the system's trust only.
   */
  readonly tls: { readonly caFile: string; readonly serverName: string | null } | null;
}

/** Pulls left before an upstream's limit: a count, or a percentage of the announced limit. */
export type RateLimitHeadroom = { readonly pulls: number } | { readonly percent: number };

/** The one configuration the daemon runs with, whichever form the file was written in. */
export interface EffectiveCacheConfig {
  readonly forms: readonly ConfigForm[];
  readonly listen: ListenAddress;
  /** The address clients reach the cache at (http.host), used in absolute URLs. */
  readonly publicUrl: string | null;
  readonly tls: {
    readonly certificateFile: string;
    readonly keyFile: string;
    readonly minimumVersion: "TLSv1.2" | "TLSv1.3";
  } | null;
  /** HTTP/2 on the TLS listener (next to HTTP/1.1); false with http.http2.disabled. */
  readonly http2: boolean;
  /** http.headers: added to every registry API response (the server's own headers win). */
  readonly responseHeaders: Readonly<Record<string, readonly string[]>>;
  /** How long in-flight requests may run after SIGTERM. */
  readonly shutdownGraceMs: number;
  /**
   * Processes serving the listener: the first owns the store and fetches from upstream, the
   * others serve what is stored and pass the rest to it (docs/adr/0036-worker-processes.md).
   */
  readonly workers: number;
  readonly httpSecret: SecretValue | null;
  readonly log: {
    readonly level: LogLevel;
    /** json: one JSON object per line; text: `time=… level=… msg=… key=value` lines. */
    readonly format: "json" | "text";
    readonly accessLog: boolean;
    readonly fields: Readonly<Record<string, string | number | boolean>>;
  };
  readonly storage: StorageConfig;
  /**
   * Blob GETs of stored blobs answered with a 307 to a presigned URL of the S3 object, valid
   * for expiryMs; null: the cache serves the bytes itself (the default).
   */
  readonly blobRedirect: { readonly expiryMs: number } | null;
  /** Evict least recently used content above maxBytes until lowWaterBytes; null: no cap. */
  readonly sizeCap: { readonly maxBytes: number; readonly lowWaterBytes: number } | null;
  /** Content unused for this long is removed; null: kept until evicted by the size cap. */
  readonly blobTtlMs: number | null;
  /** How long a resolved tag is trusted before upstream is asked again; 0: always ask. */
  readonly tagFreshnessMs: number;
  /** How long clients wait for a slow or silent upstream; whether endpoints count as down. */
  readonly upstreamBounds: UpstreamBounds;
  readonly upstreams: readonly EffectiveUpstream[];
  /** The upstream for requests naming no registry; null: such requests are refused. */
  readonly defaultUpstream: string | null;
  readonly auth: CacheAuthConfig;
  /** Prometheus metrics; listen null: served on the main listener. */
  readonly metrics: {
    readonly enabled: boolean;
    readonly listen: ListenAddress | null;
    readonly path: string;
  };
  /** Replicas sharing their upstream downloads; null: this cache works alone. */
  readonly peers: PeersConfig | null;
  /**
   * The admin credential (HTTP Basic) of the status page and the admin API; null: none
   * configured (docs/adr/0029-admin-api-inspection-and-eviction.md).
   */
  readonly admin: { readonly username: string; readonly password: SecretValue } | null;
  /** The status page (HTML) and its data at `<path>/data`. */
  readonly statusPage: { readonly enabled: boolean; readonly path: string };
  /** What the cache does near an upstream's pull limit (docs/adr/0030-upstream-rate-limits.md). */
  readonly rateLimits: {
    /** Below this many pulls left, a tag the cache holds is served instead of a pull spent. */
    readonly headroom: RateLimitHeadroom;
    /** How long every request to an upstream waits after a 429 that gives no Retry-After. */
    readonly backOffMs: number;
  };
  /** Keys that were accepted but have no effect, and REGISTRY_* variables that name no key. */
  readonly notices: readonly ConfigNotice[];
  /** REGISTRY_* environment variables that set a key (names and paths; never their values). */
  readonly environmentOverrides: readonly EnvironmentOverride[];
}
