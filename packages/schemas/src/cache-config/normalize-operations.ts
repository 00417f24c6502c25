import type { CacheConfigFile } from "./cache-config-schema.js";
import { cacheConfigDefaults } from "./default-cache-config.js";
import type { EffectiveCacheConfig } from "./effective-cache-config.js";
import type { ProblemCollector } from "./problem-collector.js";

// The keys an operator uses to watch and steer the cache: the admin credential, the status page
// and the upstream rate-limit policy (docs/adr/0029-admin-api-inspection-and-eviction.md,
// docs/adr/0030-upstream-rate-limits.md).

/** Paths the daemon answers itself; the status page may not hide one of them. */
const reservedPrefixes = ["/v2", "/admin", "/auth", "/healthz", "/readyz"];

type Operations = Pick<EffectiveCacheConfig, "admin" | "statusPage" | "rateLimits">;

export function normalizeOperations(
  file: CacheConfigFile,
  metricsPath: string,
  problems: ProblemCollector,
): Operations {
  const native = file.regmirror;
  const path = native?.statusPage?.path ?? cacheConfigDefaults.statusPagePath;
  const clashes = [...reservedPrefixes, metricsPath].find(
    (reserved) => path === reserved || path.startsWith(`${reserved}/`),
  );
  if (clashes !== undefined) {
    problems.add(
      ["regmirror", "statusPage", "path"],
      `a path outside ${clashes} (the cache answers ${clashes} itself), like /status`,
    );
  }
  return {
    admin:
      native?.admin === undefined
        ? null
        : {
            username: native.admin.username ?? cacheConfigDefaults.adminUsername,
            password: native.admin.password,
          },
    statusPage: { enabled: native?.statusPage?.enabled ?? true, path },
    rateLimits: {
      headroom: native?.rateLimits?.headroom ?? {
        percent: cacheConfigDefaults.rateLimitHeadroomPercent,
      },
      backOffMs: native?.rateLimits?.backOff ?? cacheConfigDefaults.rateLimitBackOffMs,
    },
  };
}
