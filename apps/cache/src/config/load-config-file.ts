import {
  CacheConfigError,
  type EffectiveCacheConfig,
  formatConfigProblem,
  loadCacheConfigFromYaml,
} from "@regmirror/schemas";
import type { CliContext } from "../cli/cli-context.js";
import { referencedFiles } from "./referenced-files.js";

export type ConfigFileResult =
  | { readonly ok: true; readonly config: EffectiveCacheConfig }
  /** `report` is what to print: a heading line, then one line per problem. */
  | { readonly ok: false; readonly report: readonly string[] };

/**
 * Reads, validates and normalises a configuration file, and (unless told not to) checks that
 * the files it names can be read. Every way of failing becomes a printable report.
 */
export async function loadConfigFile(
  file: string,
  io: Pick<CliContext, "readTextFile" | "isReadable">,
  options: { checkReferencedFiles: boolean },
): Promise<ConfigFileResult> {
  let text: string;
  try {
    text = await io.readTextFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    return { ok: false, report: [`${file}: cannot read the file (${code})`] };
  }

  let config: EffectiveCacheConfig;
  try {
    config = loadCacheConfigFromYaml(text, file);
  } catch (error) {
    if (!CacheConfigError.isInstance(error)) throw error;
    const count = error.problems.length === 1 ? "1 problem" : `${error.problems.length} problems`;
    return {
      ok: false,
      report: [
        `${file}: ${count}`,
        ...error.problems.map((problem) => `  - ${formatConfigProblem(problem)}`),
      ],
    };
  }

  if (options.checkReferencedFiles) {
    const missing: string[] = [];
    for (const reference of referencedFiles(config)) {
      if (!(await io.isReadable(reference.file))) {
        missing.push(`  - ${reference.key}: ${reference.file} does not exist or is not readable`);
      }
    }
    if (missing.length > 0) {
      return {
        ok: false,
        report: [`${file}: ${missing.length} referenced file(s) cannot be read`, ...missing],
      };
    }
  }
  return { ok: true, config };
}
