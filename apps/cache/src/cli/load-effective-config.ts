import type { EffectiveCacheConfig } from "@regmirror/schemas";
import { loadBuiltInConfig, loadConfigFile } from "../config/load-config-file.js";
import type { CliContext } from "./cli-context.js";

/**
 * The configuration of `serve` and `warm`: FILE checked like check-config does (referenced
 * files included), or the built-in default (a Docker Hub mirror under ./data) when no FILE is
 * named; REGISTRY_* variables apply to either. A problem is printed to standard error, one line
 * per key, and gives undefined.
 */
export async function loadEffectiveConfig(
  file: string | undefined,
  context: CliContext,
  command: string,
): Promise<EffectiveCacheConfig | undefined> {
  const loaded =
    file === undefined
      ? await loadBuiltInConfig(context, { checkReferencedFiles: true })
      : await loadConfigFile(file, context, { checkReferencedFiles: true });
  if (loaded.ok) return loaded.config;
  context.writeError(`regmirror-cache ${command}: the configuration cannot be used\n`);
  for (const line of loaded.report) context.writeError(`${line}\n`);
  return undefined;
}
