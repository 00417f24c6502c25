/**
 * The configuration the first worker hands the others in its start message
 * (docs/adr/0040-memory-per-worker.md): the parsed EffectiveCacheConfig as JSON, so the other
 * workers load none of the configuration's parsers (zod, yaml). A `SecretValue` prints as
 * <redacted> in JSON on purpose, so the secrets travel apart, each with the path of its place,
 * and become `SecretValue`s again on the other side. The message comes from the same program,
 * but it is checked anyway: a wrong one stops the worker with an error naming the key.
 */
import type { EffectiveCacheConfig } from "@regmirror/schemas";
import { SecretValue } from "@regmirror/schemas";
import { isRecord, type StartMessage } from "./worker-messages.js";

type ConfigPath = readonly (string | number)[];

export interface WorkerConfig {
  /** The configuration with every secret replaced by null. */
  readonly settings: unknown;
  /** The secrets and where they go. */
  readonly secrets: readonly { readonly path: ConfigPath; readonly value: string }[];
}

/** A start message that cannot be used; the message names the key, never a secret's value. */
export class WorkerConfigError extends Error {
  override readonly name = "WorkerConfigError";
}

export function configForWorkers(config: EffectiveCacheConfig): WorkerConfig {
  const secrets: { path: ConfigPath; value: string }[] = [];
  const copy = (value: unknown, path: ConfigPath): unknown => {
    if (value instanceof SecretValue) {
      secrets.push({ path, value: value.reveal() });
      return null;
    }
    if (Array.isArray(value)) return value.map((item, index) => copy(item, [...path, index]));
    if (typeof value === "object" && value !== null) {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, copy(item, [...path, key])]),
      );
    }
    return value;
  };
  return { settings: copy(config, []), secrets };
}

/** What a value is, without its content (it may be a secret). */
function kindOf(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function unusable(key: string, expected: string, value: unknown): WorkerConfigError {
  return new WorkerConfigError(
    `the first worker's start message is not usable: ${key}: expected ${expected}, got ${kindOf(value)}`,
  );
}

type Check = readonly [test: (value: unknown) => boolean, expected: string];

const string = (value: unknown) => typeof value === "string";
const number = (value: unknown) => typeof value === "number" && Number.isFinite(value);
const boolean = (value: unknown) => typeof value === "boolean";
const list = (value: unknown) => Array.isArray(value);
const orNull = (test: (value: unknown) => boolean) => (value: unknown) =>
  value === null || test(value);
const secret = (value: unknown) => value instanceof SecretValue;
const listenAddress = (value: unknown) =>
  isRecord(value) && string(value.host) && number(value.port);
const withKind = (key: string, kinds: readonly string[]) => (value: unknown) =>
  isRecord(value) && kinds.includes(value[key] as string);
const upstreams = (value: unknown) =>
  Array.isArray(value) &&
  value.every(
    (upstream) =>
      isRecord(upstream) &&
      string(upstream.name) &&
      list(upstream.hosts) &&
      list(upstream.endpoints) &&
      withKind("kind", ["none", "basic", "docker-config"])(upstream.credentials),
  );

/** Every key of the configuration (a new key fails to compile until it is listed here). */
const configChecks: { readonly [Key in keyof EffectiveCacheConfig]-?: Check } = {
  forms: [list, "a list"],
  listen: [listenAddress, "{ host, port }"],
  publicUrl: [orNull(string), "a URL or null"],
  tls: [orNull(isRecord), "TLS files or null"],
  http2: [boolean, "true or false"],
  responseHeaders: [isRecord, "headers"],
  shutdownGraceMs: [number, "milliseconds"],
  workers: [number, "a number of workers"],
  httpSecret: [orNull(secret), "a secret or null"],
  log: [
    (value) => isRecord(value) && string(value.level) && string(value.format),
    "{ level, format, accessLog, fields }",
  ],
  storage: [withKind("kind", ["filesystem", "s3"]), "{ kind: filesystem | s3, ... }"],
  blobRedirect: [orNull(isRecord), "{ expiryMs } or null"],
  sizeCap: [orNull(isRecord), "{ maxBytes, lowWaterBytes } or null"],
  blobTtlMs: [orNull(number), "milliseconds or null"],
  tagFreshnessMs: [number, "milliseconds"],
  upstreamBounds: [isRecord, "the upstream bounds"],
  upstreams: [upstreams, "a list of upstreams"],
  defaultUpstream: [orNull(string), "an upstream name or null"],
  auth: [withKind("mode", ["none", "htpasswd", "pass-through"]), "{ mode, ... }"],
  metrics: [(value) => isRecord(value) && string(value.path), "{ enabled, listen, path }"],
  peers: [orNull(isRecord), "the peers or null"],
  admin: [orNull(isRecord), "the admin credential or null"],
  statusPage: [(value) => isRecord(value) && string(value.path), "{ enabled, path }"],
  rateLimits: [isRecord, "the rate-limit settings"],
  notices: [list, "a list"],
  environmentOverrides: [list, "a list"],
};

/** `value[step]` of an object or a list, undefined of anything else. */
const childOf = (value: unknown, step: unknown): unknown =>
  typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[String(step)]
    : undefined;

/** Puts each secret back in its place, as a SecretValue. */
function restoreSecrets(settings: Record<string, unknown>, secrets: unknown): void {
  if (!Array.isArray(secrets)) throw unusable("config.secrets", "a list", secrets);
  secrets.forEach((entry: unknown, index) => {
    const key = `config.secrets[${index}]`;
    if (!isRecord(entry) || !Array.isArray(entry.path) || entry.path.length === 0) {
      throw unusable(key, "{ path, value }", entry);
    }
    if (typeof entry.value !== "string") throw unusable(`${key}.value`, "a string", entry.value);
    const path = entry.path as unknown[];
    const parent = path.slice(0, -1).reduce<unknown>(childOf, settings);
    const last = String(path[path.length - 1]);
    if (typeof parent !== "object" || parent === null || childOf(parent, last) !== null) {
      throw unusable(`config.${path.join(".")}`, "a secret's place", childOf(parent, last));
    }
    (parent as Record<string, unknown>)[last] = new SecretValue(entry.value);
  });
}

/**
 * The configuration from the first worker's start message (`configForWorkers` after a trip
 * through JSON), checked key by key, and the rest of the message with it.
 */
export function configFromStartMessage(start: StartMessage): EffectiveCacheConfig {
  if (!Number.isInteger(start.port)) throw unusable("port", "a port number", start.port);
  if (!string(start.primarySocket)) throw unusable("primarySocket", "a path", start.primarySocket);
  if (!string(start.tokenSecret)) throw unusable("tokenSecret", "a string", start.tokenSecret);
  return configFromWire(start.config);
}

function configFromWire(wire: unknown): EffectiveCacheConfig {
  if (!isRecord(wire)) throw unusable("config", "{ settings, secrets }", wire);
  const { settings } = wire;
  if (!isRecord(settings)) throw unusable("config.settings", "the configuration", settings);
  restoreSecrets(settings, wire.secrets);
  for (const [key, [test, expected]] of Object.entries(configChecks) as [string, Check][]) {
    if (!test(settings[key])) throw unusable(`config.${key}`, expected, settings[key]);
  }
  return settings as unknown as EffectiveCacheConfig;
}
