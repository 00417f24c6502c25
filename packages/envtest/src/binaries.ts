// Finds the etcd and kube-apiserver binaries: options, then controller-runtime's envtest variables.
import { join } from "node:path";
import { isExecutable } from "./child-process.js";
import { EnvtestError } from "./errors.js";

export interface EnvtestBinaries {
  etcd: string;
  kubeApiServer: string;
}

/** Where each binary may come from, in the order they are tried. */
const sources = {
  etcd: { variable: "TEST_ASSET_ETCD", file: "etcd" },
  kubeApiServer: { variable: "TEST_ASSET_KUBE_APISERVER", file: "kube-apiserver" },
} as const;

/**
 * Each binary: the path given in `binaries`, else `$TEST_ASSET_ETCD` / `$TEST_ASSET_KUBE_APISERVER`,
 * else `$KUBEBUILDER_ASSETS/etcd` / `$KUBEBUILDER_ASSETS/kube-apiserver` (the variables
 * controller-runtime's envtest reads and `setup-envtest use -p env` prints).
 */
export function resolveBinaries(
  given: Partial<EnvtestBinaries> = {},
  env: Record<string, string | undefined> = process.env,
): EnvtestBinaries {
  const resolve = (key: keyof EnvtestBinaries): string => {
    const { variable, file } = sources[key];
    const tried: string[] = [];
    const candidates: Array<[string, string | undefined]> = [
      [`binaries.${key}`, given[key]],
      [`$${variable}`, env[variable]],
      ["$KUBEBUILDER_ASSETS", env.KUBEBUILDER_ASSETS && join(env.KUBEBUILDER_ASSETS, file)],
    ];
    for (const [source, path] of candidates) {
      if (!path) continue;
      if (isExecutable(path)) return path;
      tried.push(`${source}: ${path} is not an executable file`);
    }
    throw new EnvtestError(
      "BINARY_NOT_FOUND",
      `no ${file} binary: ${tried.length > 0 ? `${tried.join("; ")}. ` : ""}Pass binaries.${key}, set ${variable} to its path, or set KUBEBUILDER_ASSETS to a directory holding etcd and kube-apiserver (see the @regmirror/envtest README: "Getting the binaries")`,
    );
  };
  return { etcd: resolve("etcd"), kubeApiServer: resolve("kubeApiServer") };
}
