// A configuration document turned into the effective configuration, or every problem in it.
import { type CacheConfigFile, cacheConfigFileSchema } from "./cache-config-schema.js";
import { type ConfigPath, formatConfigPath } from "./config-path.js";
import { CacheConfigError, type ConfigNotice, type ConfigProblem } from "./config-problem.js";
import { cacheConfigDefaults } from "./default-cache-config.js";
import type {
  CacheAuthConfig,
  ConfigForm,
  EffectiveCacheConfig,
  LogLevel,
} from "./effective-cache-config.js";
import { applyEnvironmentOverrides, type EnvironmentOverride } from "./environment-overrides.js";
import { IgnoredSetting } from "./field-schemas.js";
import { formatListenAddress } from "./listen-address.js";
import { normalizeOperations } from "./normalize-operations.js";
import { normalizePeers } from "./normalize-peers.js";
import { normalizeBlobRedirect, normalizeSizeCap, normalizeStorage } from "./normalize-storage.js";
import { normalizeUpstreams } from "./normalize-upstreams.js";
import { createProblemCollector, type ProblemCollector, pickOne } from "./problem-collector.js";
import { pruneInvalidKeys } from "./prune-invalid-keys.js";
import { expectationErrorMap, zodIssuesToProblems } from "./zod-issues-to-problems.js";

export interface NormalizeCacheConfigOptions {
  /**
   * The process environment: `REGISTRY_*` variables override keys of the document, with
   * distribution's rules (see environment-overrides.ts). Default: none.
   */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /**
   * The document is a file the user named. It must then be a non-empty mapping that names its
   * upstream registries: the built-in Docker Hub mirror runs only when no file is named, so a
   * ConfigMap that failed to mount never turns into an open Docker Hub mirror. Default false.
   */
  readonly namedFile?: boolean;
}

/**
 * Validates a parsed configuration document (MSR, distribution proxy or native form, or a mix)
 * and turns it into the one configuration the daemon uses. `undefined` (no file) gives the
 * built-in default: a Docker Hub mirror. Pure: reads no files.
 *
 * @throws CacheConfigError listing every problem in one pass, each with key path, value and
 * expectation (a key whose value is wrong does not hide problems elsewhere in the document).
 */
export function normalizeCacheConfig(
  raw: unknown,
  options: NormalizeCacheConfigOptions = {},
): EffectiveCacheConfig {
  const fileProblems = options.namedFile === true ? namedFileProblems(raw) : [];
  const environment = applyEnvironmentOverrides(
    raw ?? {},
    options.environment ?? {},
    cacheConfigFileSchema,
  );
  const document = environment.document;
  const problems: ConfigProblem[] = [...fileProblems, ...environment.problems];
  const context: BuildContext = {
    document,
    namedFile: options.namedFile === true && fileProblems.length === 0,
    builtInDefault: raw === undefined,
    upstreamsComplete: true,
    environmentOverrides: environment.applied,
    environmentNotices: environment.ignored,
  };

  const parsed = cacheConfigFileSchema.safeParse(document, { error: expectationErrorMap });
  if (parsed.success) {
    const built = buildEffectiveConfig(parsed.data, context);
    problems.push(...built.problems);
    if (problems.length === 0) return deepFreeze(built.config);
  } else {
    problems.push(...zodIssuesToProblems(parsed.error.issues, document, cacheConfigFileSchema));
    // Leave out what the schema refused and check the rest, so the problems that depend on
    // several keys (an unknown defaultUpstream, a setting given twice) show up now as well.
    const pruned = pruneInvalidKeys(document, parsed.error.issues, (candidate) =>
      cacheConfigFileSchema.safeParse(candidate, { error: expectationErrorMap }),
    );
    if (pruned !== undefined) {
      const built = buildEffectiveConfig(pruned.file as CacheConfigFile, {
        ...context,
        upstreamsComplete: !pruned.paths.some(touchesUpstreams),
      });
      const reported = new Set(problems.map((problem) => problem.path));
      problems.push(
        ...built.problems.filter(
          (problem) =>
            !reported.has(problem.path) &&
            !pruned.paths.some((path) => isWithin(problem.path, formatConfigPath(path))),
        ),
      );
    }
  }
  throw new CacheConfigError(annotateEnvironment(problems, environment.applied));
}

interface BuildContext {
  /** The document after environment overrides, for values shown in problems. */
  document: unknown;
  namedFile: boolean;
  builtInDefault: boolean;
  /** False when a source of upstreams was left out: checks that need all of them are skipped. */
  upstreamsComplete: boolean;
  environmentOverrides: readonly EnvironmentOverride[];
  environmentNotices: readonly ConfigNotice[];
}

/** A named file that is empty, or not a mapping, is refused rather than read as "use defaults". */
function namedFileProblems(raw: unknown): ConfigProblem[] {
  const empty = raw === undefined || raw === null || raw === "";
  const emptyMapping =
    typeof raw === "object" && raw !== null && !Array.isArray(raw) && Object.keys(raw).length === 0;
  if (!empty && !emptyMapping) return [];
  return [
    {
      path: "",
      value: empty ? "(an empty file)" : "{} (an empty mapping)",
      expected: `${noUpstreamExpectation}; an empty file is refused so that a configuration that failed to mount cannot start an open Docker Hub mirror`,
    },
  ];
}

const noUpstreamExpectation =
  "the upstream registry to mirror: proxy.remoteurl (distribution), middleware.registry with the downstream middleware (MSR) or regmirror.upstreams (run serve without a FILE for the built-in Docker Hub mirror)";

// Keys that decide which upstreams exist and what they are called.
const upstreamNamingKey =
  /^(?:proxy(?:\.remoteurl)?|middleware(?:\.registry(?:\[\d+\](?:\.options(?:\.upstreams(?:\[\d+\])?)?)?)?)?|regmirror(?:\.upstreams(?:\[\d+\](?:\.name)?)?)?)$/;

function touchesUpstreams(path: ConfigPath): boolean {
  return upstreamNamingKey.test(formatConfigPath(path));
}

function isWithin(path: string, ancestor: string): boolean {
  return (
    path === ancestor ||
    path.startsWith(`${ancestor}.`) ||
    path.startsWith(`${ancestor}[`) ||
    ancestor === ""
  );
}

/** A problem at a key a REGISTRY_* variable set says so (never with the variable's value). */
function annotateEnvironment(
  problems: readonly ConfigProblem[],
  overrides: readonly EnvironmentOverride[],
): ConfigProblem[] {
  return problems.map((problem) => {
    const override = overrides.findLast((candidate) => isWithin(problem.path, candidate.path));
    if (override === undefined || problem.value.includes(`(from ${override.variable})`))
      return problem;
    return { ...problem, value: `${problem.value} (from ${override.variable})` };
  });
}

function buildEffectiveConfig(
  file: CacheConfigFile,
  context: BuildContext,
): { config: EffectiveCacheConfig; problems: readonly ConfigProblem[] } {
  const problems = createProblemCollector(context.document);

  const { upstreams, defaultUpstream } = normalizeUpstreams(file, problems, {
    checkDefaultUpstream: context.upstreamsComplete,
  });
  if (context.namedFile && context.upstreamsComplete && !namesUpstreams(file)) {
    problems.add([], noUpstreamExpectation);
  }
  const blobTtlMs = pickOne(problems, "the blob TTL", [
    [["regmirror", "blobTtl"], file.regmirror?.blobTtl],
    [["proxy", "ttl"], file.proxy?.ttl],
    [
      ["middleware", "registry", 0, "options", "blobttl"],
      file.middleware?.registry?.[0]?.options.blobttl,
    ],
  ]);
  const listen = file.http?.addr ?? cacheConfigDefaults.listen;
  const metrics = normalizeMetrics(file, problems);
  if (
    metrics.listen &&
    metrics.listen.port !== 0 &&
    formatListenAddress(metrics.listen) === formatListenAddress(listen)
  ) {
    problems.add(
      metricsAddressPath(file),
      "an address other than the main listener's (or none, to share it)",
    );
  }

  const storage = normalizeStorage(file, problems);
  const workers = file.regmirror?.workers ?? cacheConfigDefaults.workers;
  if (workers > 1 && storage.kind !== "filesystem") {
    // Workers serve stored content by reading the store's files (ADR 0036).
    problems.add(
      ["regmirror", "workers"],
      "1 with S3 storage (more workers need a filesystem store)",
    );
  }

  const config: EffectiveCacheConfig = {
    forms: formsOf(context.builtInDefault, file),
    listen,
    publicUrl: file.http?.host ?? null,
    tls: file.http?.tls
      ? {
          certificateFile: file.http.tls.certificate,
          keyFile: file.http.tls.key,
          minimumVersion: file.http.tls.minimumtls === "tls1.3" ? "TLSv1.3" : "TLSv1.2",
        }
      : null,
    http2: file.http?.http2?.disabled !== true,
    responseHeaders: file.http?.headers ?? {},
    shutdownGraceMs: file.http?.draintimeout ?? cacheConfigDefaults.shutdownGraceMs,
    workers,
    httpSecret: file.http?.secret ?? null,
    log: {
      level: logLevelOf(file.log?.level),
      format: file.log?.formatter === "text" ? "text" : "json",
      accessLog: file.log?.accesslog?.disabled !== true,
      fields: file.log?.fields ?? {},
    },
    storage,
    blobRedirect: normalizeBlobRedirect(file, storage, problems),
    sizeCap: normalizeSizeCap(file, problems),
    blobTtlMs:
      blobTtlMs === undefined ? cacheConfigDefaults.blobTtlMs : blobTtlMs === 0 ? null : blobTtlMs,
    tagFreshnessMs: file.regmirror?.tagFreshness ?? cacheConfigDefaults.tagFreshnessMs,
    upstreamBounds: {
      staleAfterMs:
        file.regmirror?.upstreamTimeouts?.staleAfter ?? cacheConfigDefaults.staleAfterMs,
      uncachedMs: file.regmirror?.upstreamTimeouts?.uncached ?? cacheConfigDefaults.uncachedMs,
      circuitBreaker: {
        failures:
          file.regmirror?.circuitBreaker?.failures ?? cacheConfigDefaults.circuitBreakerFailures,
        openForMs:
          file.regmirror?.circuitBreaker?.openFor ?? cacheConfigDefaults.circuitBreakerOpenForMs,
      },
    },
    upstreams,
    defaultUpstream,
    auth: normalizeAuth(file, problems),
    metrics,
    peers: normalizePeers(file, listen, problems),
    ...normalizeOperations(file, metrics.path, problems),
    notices: [...collectNotices(file), ...context.environmentNotices],
    environmentOverrides: context.environmentOverrides,
  };
  return { config, problems: problems.problems };
}

function namesUpstreams(file: CacheConfigFile): boolean {
  return (
    file.proxy !== undefined ||
    file.middleware?.registry !== undefined ||
    file.regmirror?.upstreams !== undefined
  );
}

function formsOf(builtInDefault: boolean, file: CacheConfigFile): ConfigForm[] {
  const keys = Object.keys(file).filter(
    (key) => (file as Record<string, unknown>)[key] !== undefined,
  );
  const forms: ConfigForm[] = [];
  if (builtInDefault) forms.push("built-in-default");
  if (file.middleware?.registry) forms.push("msr-downstream");
  if (file.proxy) forms.push("distribution-proxy");
  if (keys.some((key) => !["regmirror", "proxy", "middleware"].includes(key)))
    forms.push("distribution");
  if (file.regmirror) forms.push("native");
  return forms;
}

function logLevelOf(level: NonNullable<CacheConfigFile["log"]>["level"]): LogLevel {
  if (level === undefined) return cacheConfigDefaults.logLevel;
  if (level === "panic") return "fatal";
  if (level === "warning") return "warn";
  return level;
}

function normalizeAuth(file: CacheConfigFile, problems: ProblemCollector): CacheAuthConfig {
  const native = file.regmirror?.auth;
  const htpasswd = file.auth?.htpasswd;
  const chosen = pickOne(problems, "client authentication", [
    [["regmirror", "auth"], native && ("native" as const)],
    [["auth", "htpasswd"], htpasswd && ("distribution" as const)],
  ]);
  if (chosen === "distribution" && htpasswd) {
    return {
      mode: "htpasswd",
      htpasswdFile: htpasswd.path,
      realm: htpasswd.realm,
      tokenTtlMs: cacheConfigDefaults.tokenTtlMs,
    };
  }
  if (chosen !== "native" || !native) return { mode: "none" };

  const path = ["regmirror", "auth"];
  const keysByMode = {
    none: [],
    htpasswd: ["htpasswdFile", "realm", "tokenTtl"],
    "pass-through": ["decisionTtl"],
  } as const;
  const allowed: readonly string[] = keysByMode[native.mode];
  for (const key of ["htpasswdFile", "realm", "tokenTtl", "decisionTtl"] as const) {
    if (native[key] !== undefined && !allowed.includes(key)) {
      problems.add([...path, key], `no ${key} with mode ${native.mode}`);
    }
  }
  switch (native.mode) {
    case "none":
      return { mode: "none" };
    case "pass-through":
      return {
        mode: "pass-through",
        decisionTtlMs: native.decisionTtl ?? cacheConfigDefaults.passThroughDecisionTtlMs,
      };
    case "htpasswd":
      if (native.htpasswdFile === undefined) {
        problems.add([...path, "htpasswdFile"], "the path of an htpasswd file for mode htpasswd");
      }
      return {
        mode: "htpasswd",
        htpasswdFile: native.htpasswdFile ?? "",
        realm: native.realm ?? cacheConfigDefaults.authRealm,
        tokenTtlMs: native.tokenTtl ?? cacheConfigDefaults.tokenTtlMs,
      };
  }
}

function metricsAddressPath(file: CacheConfigFile): ConfigPath {
  return file.regmirror?.metrics ? ["regmirror", "metrics", "address"] : ["http", "debug", "addr"];
}

/** regmirror.metrics, or distribution's http.debug.prometheus; by default on the main listener. */
function normalizeMetrics(
  file: CacheConfigFile,
  problems: ProblemCollector,
): EffectiveCacheConfig["metrics"] {
  const debug = file.http?.debug;
  const prometheus = debug?.prometheus?.enabled === true ? debug.prometheus : undefined;
  const chosen = pickOne(problems, "the metrics endpoint", [
    [["regmirror", "metrics"], file.regmirror?.metrics && ("native" as const)],
    [["http", "debug", "prometheus"], prometheus && ("distribution" as const)],
  ]);
  if (chosen === "distribution" && prometheus) {
    return {
      enabled: true,
      listen: debug?.addr ?? null,
      path: prometheus.path ?? cacheConfigDefaults.metricsPath,
    };
  }
  const native = file.regmirror?.metrics;
  return {
    enabled: native?.enabled ?? true,
    listen: native?.address ?? null,
    path: native?.path ?? cacheConfigDefaults.metricsPath,
  };
}

/** Every key accepted only for compatibility, so check-config and the start-up log can say so. */
function collectNotices(file: CacheConfigFile): ConfigNotice[] {
  const notices: ConfigNotice[] = [];
  if (file.log?.formatter === "logstash") {
    notices.push({
      path: "log.formatter",
      message: "regmirror has no logstash format; it logs JSON lines (the default)",
    });
  }
  const debug = file.http?.debug;
  if (debug !== undefined && debug.prometheus?.enabled !== true) {
    notices.push({
      path: "http.debug",
      message:
        "regmirror has no debug server; set http.debug.prometheus.enabled or regmirror.metrics for metrics",
    });
  }
  const visit = (value: unknown, path: PropertyKey[]): void => {
    if (value instanceof IgnoredSetting) {
      notices.push({ path: formatConfigPath(path), message: value.reason });
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, [...path, index]);
    } else if (isPlainObject(value)) {
      for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
    }
  };
  visit(file, []);
  return notices;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || isPlainObject(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
