import { resolve } from "node:path";
import {
  CacheConfigError,
  type EffectiveCacheConfig,
  formatConfigProblem,
  loadCacheConfigFromYaml,
  normalizeCacheConfig,
} from "@regmirror/schemas";
import type { CliContext } from "../cli/cli-context.js";
import { checkReferencedFiles } from "./check-referenced-files.js";

export type ConfigFileResult =
  | { readonly ok: true; readonly config: EffectiveCacheConfig }
  /** `report` is what to print: a heading line, then one line per problem. */
  | { readonly ok: false; readonly report: readonly string[] };

type ConfigIo = Pick<CliContext, "readTextFile" | "environment">;

function problemReport(heading: string, error: CacheConfigError): string[] {
  const count = error.problems.length === 1 ? "1 problem" : `${error.problems.length} problems`;
  return [
    `${heading}: ${count}`,
    ...error.problems.map((problem) => `  - ${formatConfigProblem(problem)}`),
  ];
}

/**
 * Reads, validates and normalises a configuration file (with the REGISTRY_* variables of the
 * environment applied), and (unless told not to) checks the files it names. Every way of
 * failing becomes a printable report naming the file by its absolute path.
 */
export async function loadConfigFile(
  file: string,
  io: ConfigIo,
  options: { checkReferencedFiles: boolean },
): Promise<ConfigFileResult> {
  const path = resolve(file);
  let text: string;
  try {
    text = await io.readTextFile(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code === "ENOENT" ? "ENOENT: no such file" : (code ?? message);
    return { ok: false, report: [`${path}: cannot read the file (${reason})`] };
  }

  let config: EffectiveCacheConfig;
  try {
    config = loadCacheConfigFromYaml(text, path, { environment: io.environment ?? {} });
  } catch (error) {
    if (!CacheConfigError.isInstance(error)) throw error;
    return { ok: false, report: problemReport(path, error) };
  }
  return finish(path, config, io, options);
}

/** The built-in default (no file named), with the REGISTRY_* variables applied. */
export async function loadBuiltInConfig(
  io: ConfigIo,
  options: { checkReferencedFiles: boolean },
): Promise<ConfigFileResult> {
  const heading = "the built-in default with REGISTRY_* variables";
  let config: EffectiveCacheConfig;
  try {
    config = normalizeCacheConfig(undefined, { environment: io.environment ?? {} });
  } catch (error) {
    if (!CacheConfigError.isInstance(error)) throw error;
    return { ok: false, report: problemReport(heading, error) };
  }
  return finish(heading, config, io, options);
}

async function finish(
  heading: string,
  config: EffectiveCacheConfig,
  io: ConfigIo,
  options: { checkReferencedFiles: boolean },
): Promise<ConfigFileResult> {
  if (!options.checkReferencedFiles) return { ok: true, config };
  const problems = await checkReferencedFiles(config, io);
  if (problems.length === 0) return { ok: true, config };
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return {
    ok: false,
    report: [
      `${heading}: ${count} with the files it names`,
      ...problems.map((problem) => `  - ${problem}`),
    ],
  };
}
