import { type EffectiveCacheConfig, normalizeCacheConfig } from "@regmirror/schemas";
import { loadConfigFile } from "../config/load-config-file.js";
import type { CliContext } from "./cli-context.js";

/**
 * The configuration of `serve` and `warm`: FILE checked like check-config does (referenced
 * files included), or the built-in default (a Docker Hub mirror under ./data) without one.
 * A problem is printed to standard error, one line per key, and gives undefined.
 */
export async function loadEffectiveConfig(
  file: string | undefined,
  context: CliContext,
  command: string,
): Promise<EffectiveCacheConfig | undefined> {
  if (file === undefined) return normalizeCacheConfig({});
  const loaded = await loadConfigFile(file, context, { checkReferencedFiles: true });
  if (loaded.ok) return loaded.config;
  context.writeError(`regmirror-cache ${command}: the configuration cannot be used\n`);
  for (const line of loaded.report) context.writeError(`${line}\n`);
  return undefined;
}
