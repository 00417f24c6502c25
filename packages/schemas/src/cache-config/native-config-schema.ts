// The `regmirror:` section of the cache configuration.
import { isIP } from "node:net";
import { parseDuration } from "@regmirror/core";
import { z } from "zod";
import { byteSizeExpectation, parseByteSize } from "./byte-size.js";
import {
  byteSize,
  duration,
  filePath,
  listenAddress,
  nonEmptyString,
  registryHost,
  registryUrl,
  secretString,
} from "./field-schemas.js";

// The `regmirror:` section: what a distribution file cannot say. See
// docs/adr/0006-cache-config-format.md for why it is one section rather than new top-level keys.

const upstreamNameExpectation =
  "a name of lowercase letters, digits, '.', '_' or '-' like docker-hub";

const upstreamCredentialsSchema = z.strictObject({
  username: nonEmptyString.optional(),
  password: secretString.optional(),
  dockerConfig: filePath.optional(),
});

export const nativeUpstreamSchema = z.strictObject({
  name: z
    .string({ error: upstreamNameExpectation })
    .regex(/^[a-z0-9][a-z0-9._-]*$/, { error: upstreamNameExpectation }),
  hosts: z
    .array(registryHost, { error: "a list of registry host names like [docker.io]" })
    .min(1, { error: "at least one host name (or leave hosts out)" })
    .optional(),
  endpoints: z
    .array(registryUrl, { error: "a list of registry URLs, tried in order" })
    .min(1, { error: "at least one registry URL" }),
  credentials: upstreamCredentialsSchema.optional(),
  caBundle: filePath.optional(),
});

const percentPattern = /^(\d{1,2}(?:\.\d+)?)%$/;

/** The low-water mark: a size, or a percentage of maxSize such as "90%". */
type LowWater = { readonly percent: number } | { readonly bytes: number };

const lowWaterSchema = z.unknown().transform((value, context): LowWater => {
  const percent = typeof value === "string" ? percentPattern.exec(value.trim()) : null;
  if (percent) return { percent: Number(percent[1]) };
  const bytes =
    typeof value === "string" || typeof value === "number" ? parseByteSize(value) : undefined;
  if (bytes === undefined) {
    context.addIssue({
      code: "custom",
      message: `${byteSizeExpectation}, or a percentage of maxSize like 90%`,
    });
    return z.NEVER;
  }
  return { bytes };
});

const s3CredentialsSchema = z.strictObject({
  mode: z.enum(["static", "env", "web-identity"]),
  accessKeyId: secretString.optional(),
  secretAccessKey: secretString.optional(),
  sessionToken: secretString.optional(),
  roleArn: nonEmptyString.optional(),
  tokenFile: filePath.optional(),
});

/** A duration that must be more than zero, with a unit. */
const positiveDuration = z.unknown().transform((value, context) => {
  const milliseconds = typeof value === "string" ? parseDuration(value) : undefined;
  if (milliseconds === undefined || milliseconds <= 0) {
    context.addIssue({ code: "custom", message: "a duration above zero like 3s or 30s" });
    return z.NEVER;
  }
  return milliseconds;
});

const nativeStorageSchema = z.strictObject({
  filesystem: z.strictObject({ rootDirectory: filePath }).optional(),
  s3: z
    .strictObject({
      bucket: nonEmptyString,
      region: nonEmptyString.optional(),
      endpoint: registryUrl.optional(),
      forcePathStyle: z.boolean().optional(),
      prefix: z.string().optional(),
      credentials: s3CredentialsSchema.optional(),
    })
    .optional(),
  maxSize: byteSize.optional(),
  lowWater: lowWaterSchema.optional(),
  /** Blob GETs answered with a 307 to a presigned S3 URL (docs/adr/0038-s3-redirect-and-shared-sweeps.md). */
  redirect: z
    .strictObject({
      enabled: z.boolean().optional(),
      expiry: positiveDuration.optional(),
    })
    .optional(),
});

const nativeAuthSchema = z.strictObject({
  mode: z.enum(["none", "htpasswd", "pass-through"]),
  htpasswdFile: filePath.optional(),
  realm: nonEmptyString.optional(),
  tokenTtl: duration.optional(),
  decisionTtl: duration.optional(),
});

const nativeMetricsSchema = z.strictObject({
  enabled: z.boolean().optional(),
  address: listenAddress.optional(),
  path: z.string().startsWith("/", { error: "a path starting with /" }).optional(),
});

// How long a client waits for a slow or silent upstream (docs/adr/0016-upstream-bounds-and-circuit-breaker.md).
const nativeUpstreamTimeoutsSchema = z.strictObject({
  staleAfter: positiveDuration.optional(),
  uncached: positiveDuration.optional(),
});

const nativeCircuitBreakerSchema = z.strictObject({
  failures: z
    .number({ error: "a whole number of failed requests (0: never open)" })
    .int({ error: "a whole number of failed requests (0: never open)" })
    .min(0, { error: "a whole number of failed requests (0: never open)" })
    .optional(),
  openFor: positiveDuration.optional(),
});

/** A peer cache replica's base URL: what the other replicas send their requests to. */
const peerUrl = registryUrl;

const hostExpectation = "an IP address (10.0.0.5, fd00::5) or a host name, without a port";

/** An IP address of either family or a DNS name: where a replica or a DNS server is. */
const hostAddress = z.unknown().transform((value, context) => {
  const text = typeof value === "string" ? value.trim() : "";
  if (isIP(text) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?$/.test(text)) {
    context.addIssue({ code: "custom", message: hostExpectation });
    return z.NEVER;
  }
  return text;
});

const dnsServerExpectation =
  "a DNS server's IP address, with a port if not 53: 10.0.0.10, 127.0.0.1:5353, [fd00::10]:53";

/** One DNS server as node:dns takes it: an IP address, or IP:port with IPv6 in brackets. */
const dnsServer = z.unknown().transform((value, context) => {
  const text = typeof value === "string" ? value.trim() : "";
  const withPort = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const host = withPort ? (withPort[1] ?? withPort[2] ?? "") : text;
  const port = withPort ? Number(withPort[3]) : 53;
  if (
    isIP(host) === 0 ||
    port < 1 ||
    port > 65_535 ||
    (withPort?.[2] !== undefined && isIP(host) === 6)
  ) {
    context.addIssue({ code: "custom", message: dnsServerExpectation });
    return z.NEVER;
  }
  return text;
});

const portNumber = z
  .number({ error: "a port number from 1 to 65535" })
  .int({ error: "a port number from 1 to 65535" })
  .min(1, { error: "a port number from 1 to 65535" })
  .max(65_535, { error: "a port number from 1 to 65535" });

// Cache replicas that share one upstream download per digest (docs/adr/0033-cache-peers.md).
const nativePeersSchema = z.strictObject({
  /** This replica's own URL as the others reach it; must be one of the members. */
  self: peerUrl.optional(),
  /** Or its address (the pod IP): the URL is built from it and this cache's own listener. */
  selfAddress: hostAddress.optional(),
  /** Signs requests between replicas; every replica has the same one. */
  secret: secretString,
  members: z.strictObject({
    static: z
      .array(peerUrl, { error: "a list of the replicas' URLs like http://10.0.0.2:5000" })
      .min(1, { error: "at least one replica URL (this replica's own)" })
      .optional(),
    /** The ready endpoints of a Service, from the EndpointSlice API. */
    kubernetes: z
      .strictObject({
        namespace: nonEmptyString,
        service: nonEmptyString,
        /** The EndpointSlice port's name; default: its first port. */
        portName: nonEmptyString.optional(),
        scheme: z.enum(["http", "https"]).optional(),
        /** How often the list is read again. */
        interval: positiveDuration.optional(),
        /** Default: the in-cluster address and the pod's service account files. */
        apiServer: registryUrl.optional(),
        tokenFile: filePath.optional(),
        caFile: filePath.optional(),
      })
      .optional(),
    /** The A and AAAA records of a name (a headless Service), resolved again every interval. */
    dns: z
      .strictObject({
        name: hostAddress,
        /** The port every replica listens on. */
        port: portNumber,
        scheme: z.enum(["http", "https"]).optional(),
        interval: positiveDuration.optional(),
        /** Default: the system's resolvers (/etc/resolv.conf). */
        server: dnsServer.optional(),
      })
      .optional(),
  }),
  /** How long a replica waits for an owner's answer before it asks the next replica. */
  timeout: positiveDuration.optional(),
  /** Trust for https members: the CA, and the name their certificates carry (not their IPs). */
  tls: z
    .strictObject({
      caFile: filePath,
      serverName: nonEmptyString.optional(),
    })
    .optional(),
});

// The admin credential, the status page and upstream rate limits
// (docs/adr/0029-admin-api-inspection-and-eviction.md, docs/adr/0030-upstream-rate-limits.md).
const nativeAdminSchema = z.strictObject({
  username: nonEmptyString.optional(),
  password: secretString.refine((secret) => secret.reveal().length >= 8, {
    error: "a password of at least 8 characters",
  }),
});

const nativeStatusPageSchema = z.strictObject({
  enabled: z.boolean().optional(),
  path: z
    .string({ error: "a path starting with / like /status" })
    .regex(/^\/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$/, {
      error: "a path starting with / like /status (letters, digits, . _ ~ - /; no trailing /)",
    })
    .optional(),
});

/** Pulls left before the limit: a number of pulls, or a percentage of the limit like "10%". */
const headroomSchema = z.unknown().transform((value, context): RateLimitHeadroom => {
  const percent = typeof value === "string" ? percentPattern.exec(value.trim()) : null;
  if (percent) return { percent: Number(percent[1]) };
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return { pulls: value };
  context.addIssue({
    code: "custom",
    message: "a number of pulls like 10, or a percentage of the upstream's limit like 10%",
  });
  return z.NEVER;
});

type RateLimitHeadroom = { readonly percent: number } | { readonly pulls: number };

const nativeRateLimitsSchema = z.strictObject({
  headroom: headroomSchema.optional(),
  backOff: positiveDuration.optional(),
});

export const nativeConfigSchema = z.strictObject({
  upstreams: z
    .array(nativeUpstreamSchema, { error: "a list of upstream registries" })
    .min(1, { error: "at least one upstream registry" })
    .optional(),
  /** CA files trusted for every upstream (the proxy: form has no CA key of its own). */
  caBundles: z.array(filePath, { error: "a list of CA certificate file paths" }).optional(),
  defaultUpstream: z
    .string({ error: "the name of an upstream, or null for none" })
    .nullable()
    .optional(),
  storage: nativeStorageSchema.optional(),
  blobTtl: duration.optional(),
  tagFreshness: duration.optional(),
  upstreamTimeouts: nativeUpstreamTimeoutsSchema.optional(),
  circuitBreaker: nativeCircuitBreakerSchema.optional(),
  auth: nativeAuthSchema.optional(),
  metrics: nativeMetricsSchema.optional(),
  peers: nativePeersSchema.optional(),
  admin: nativeAdminSchema.optional(),
  statusPage: nativeStatusPageSchema.optional(),
  rateLimits: nativeRateLimitsSchema.optional(),
  /** Processes serving the listener (docs/adr/0036-worker-processes.md); default 1. */
  workers: z
    .number({ error: "a whole number of worker processes from 1 to 64" })
    .int({ error: "a whole number of worker processes from 1 to 64" })
    .min(1, { error: "a whole number of worker processes from 1 to 64" })
    .max(64, { error: "a whole number of worker processes from 1 to 64" })
    .optional(),
});
