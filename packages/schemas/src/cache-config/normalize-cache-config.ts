import { type CacheConfigFile, cacheConfigFileSchema } from "./cache-config-schema.js";
import { type ConfigPath, formatConfigPath } from "./config-path.js";
import { CacheConfigError, type ConfigNotice } from "./config-problem.js";
import { cacheConfigDefaults } from "./default-cache-config.js";
import type {
  CacheAuthConfig,
  ConfigForm,
  EffectiveCacheConfig,
  LogLevel,
} from "./effective-cache-config.js";
import { IgnoredSetting } from "./field-schemas.js";
import { formatListenAddress } from "./listen-address.js";
import { normalizeSizeCap, normalizeStorage } from "./normalize-storage.js";
import { normalizeOperations } from "./normalize-operations.js";
import { normalizeUpstreams } from "./normalize-upstreams.js";
import { createProblemCollector, type ProblemCollector, pickOne } from "./problem-collector.js";
import { expectationErrorMap, zodIssuesToProblems } from "./zod-issues-to-problems.js";

/**
 * Validates a parsed configuration document (MSR, distribution proxy or native form, or a mix)
 * and turns it into the one configuration the daemon uses. `null`/`undefined` (no file, or an
 * empty one) gives the built-in default: a Docker Hub mirror. Pure: reads no files.
 *
 * @throws CacheConfigError listing every problem, each with key path, value and expectation.
 */
export function normalizeCacheConfig(raw: unknown): EffectiveCacheConfig {
  const document = raw ?? {};
  const parsed = cacheConfigFileSchema.safeParse(document, { error: expectationErrorMap });
  if (!parsed.success) {
    throw new CacheConfigError(
      zodIssuesToProblems(parsed.error.issues, document, cacheConfigFileSchema),
    );
  }
  const file = parsed.data;
  const problems = createProblemCollector(document);

  const { upstreams, defaultUpstream } = normalizeUpstreams(file, problems);
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

  const config: EffectiveCacheConfig = {
    forms: formsOf(document, file),
    listen,
    publicUrl: file.http?.host ?? null,
    tls: file.http?.tls
      ? {
          certificateFile: file.http.tls.certificate,
          keyFile: file.http.tls.key,
          minimumVersion: file.http.tls.minimumtls === "tls1.3" ? "TLSv1.3" : "TLSv1.2",
        }
      : null,
    shutdownGraceMs: file.http?.draintimeout ?? cacheConfigDefaults.shutdownGraceMs,
    httpSecret: file.http?.secret ?? null,
    log: {
      level: logLevelOf(file.log?.level),
      accessLog: file.log?.accesslog?.disabled !== true,
      fields: file.log?.fields ?? {},
    },
    storage: normalizeStorage(file, problems),
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
    ...normalizeOperations(file, metrics.path, problems),
    notices: collectNotices(file),
  };
  if (problems.problems.length > 0) throw new CacheConfigError(problems.problems);
  return deepFreeze(config);
}

function formsOf(document: unknown, file: CacheConfigFile): ConfigForm[] {
  const keys = typeof document === "object" && document !== null ? Object.keys(document) : [];
  const forms: ConfigForm[] = [];
  if (keys.length === 0) return ["built-in-default"];
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
