// What this build is: the package version (from package.json, bundled in) and the Node it runs
// on. Shown by --version, in the start-up log and as the regmirror_cache_build_info metric.
import packageJson from "../package.json" with { type: "json" };

export const buildInfo = {
  version: packageJson.version,
  nodeVersion: process.versions.node,
} as const;
