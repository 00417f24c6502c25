// Where containerd reads hosts.toml files, from its config.toml.
import { parse } from "smol-toml";

export const defaultContainerdCertsDirectory = "/etc/containerd/certs.d";

/** A condition worth telling the operator about; `code` is stable. */
export interface NodeTrustWarning {
  code:
    | "CONTAINERD_CONFIG_NOT_FOUND"
    | "CONTAINERD_CONFIG_UNREADABLE"
    | "CONTAINERD_CONFIG_PATH_NOT_SET"
    | "CONTAINERD_CONFIG_PATH_INVALID";
  message: string;
}

export interface ContainerdRegistrySettings {
  /** The config file's `version` (1 when absent); undefined when there is no readable file. */
  configVersion?: number;
  /** `config_path` as written (may list several directories separated by ":"). */
  configPath?: string;
  /** Node-absolute directory the hosts.toml files go to: config_path's first entry, else the default. */
  certsDirectory: string;
  warnings: NodeTrustWarning[];
}

function table(value: unknown, ...keys: string[]): Record<string, unknown> | undefined {
  let current: unknown = value;
  for (const key of keys) {
    if (typeof current !== "object" || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === "object" && current !== null && !Array.isArray(current)
    ? (current as Record<string, unknown>)
    : undefined;
}

/** The CRI registry table for each config layout (v1 short plugin names, v2, v3). */
function registryTable(config: unknown, version: number): Record<string, unknown> | undefined {
  if (version >= 3) return table(config, "plugins", "io.containerd.cri.v1.images", "registry");
  if (version === 2) return table(config, "plugins", "io.containerd.grpc.v1.cri", "registry");
  return table(config, "plugins", "cri", "registry");
}

/**
 * Reads containerd's config.toml text (undefined: no file) and works out where hosts.toml files
 * must go and whether containerd will read them at all.
 */
export function readContainerdRegistrySettings(
  configText: string | undefined,
  configFile: string,
): ContainerdRegistrySettings {
  const fallback = defaultContainerdCertsDirectory;
  if (configText === undefined) {
    return {
      certsDirectory: fallback,
      warnings: [
        {
          code: "CONTAINERD_CONFIG_NOT_FOUND",
          message:
            `${configFile} does not exist: containerd 2.x reads ${fallback} by default, but ` +
            `containerd 1.x ignores hosts.toml files unless config_path is set`,
        },
      ],
    };
  }
  let config: unknown;
  try {
    config = parse(configText);
  } catch (error) {
    return {
      certsDirectory: fallback,
      warnings: [
        {
          code: "CONTAINERD_CONFIG_UNREADABLE",
          message: `${configFile} is not valid TOML (${(error as Error).message.split("\n")[0]}); writing hosts.toml files to ${fallback}`,
        },
      ],
    };
  }
  const rawVersion = (config as Record<string, unknown>).version;
  const configVersion = typeof rawVersion === "number" ? rawVersion : 1;
  const rawPath = registryTable(config, configVersion)?.config_path;
  const configPath = typeof rawPath === "string" && rawPath !== "" ? rawPath : undefined;
  if (configPath === undefined) {
    // containerd 2.x (config version 3) defaults config_path to /etc/containerd/certs.d:/etc/docker/certs.d.
    if (configVersion >= 3) return { configVersion, certsDirectory: fallback, warnings: [] };
    const section =
      configVersion === 2
        ? '[plugins."io.containerd.grpc.v1.cri".registry]'
        : "[plugins.cri.registry]";
    return {
      configVersion,
      certsDirectory: fallback,
      warnings: [
        {
          code: "CONTAINERD_CONFIG_PATH_NOT_SET",
          message:
            `${configFile} (version ${configVersion}) does not set config_path in ${section}: ` +
            `containerd ignores the hosts.toml files written to ${fallback} until ` +
            `config_path = "${fallback}" is set there and containerd is restarted`,
        },
      ],
    };
  }
  const first = configPath.split(":")[0] ?? "";
  if (!first.startsWith("/")) {
    return {
      configVersion,
      configPath,
      certsDirectory: fallback,
      warnings: [
        {
          code: "CONTAINERD_CONFIG_PATH_INVALID",
          message: `config_path "${configPath}" in ${configFile} does not start with an absolute directory; writing to ${fallback}`,
        },
      ],
    };
  }
  return {
    configVersion,
    configPath,
    certsDirectory: first.replace(/\/+$/, "") || "/",
    warnings: [],
  };
}
