// YAML text to a configuration document (syntax errors as problems with line and column).
import { LineCounter, parseDocument } from "yaml";
import { CacheConfigError, type ConfigProblem } from "./config-problem.js";
import type { EffectiveCacheConfig } from "./effective-cache-config.js";
import {
  type NormalizeCacheConfigOptions,
  normalizeCacheConfig,
} from "./normalize-cache-config.js";

/**
 * Parses the text of a YAML configuration file into a plain document. YAML errors become
 * problems with line and column but without the offending line's text, which could hold a
 * password.
 *
 * @throws CacheConfigError
 */
export function parseCacheConfigYaml(text: string, sourceName = "the configuration file"): unknown {
  // YAML 1.1 would read `on`/`yes` as booleans like Go's yaml.v2; 1.2 (core) keeps them strings,
  // which only matters for values that regmirror validates anyway.
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
  });
  if (document.errors.length > 0) {
    const problems: ConfigProblem[] = document.errors.map((error) => {
      const position = lineCounter.linePos(error.pos[0]);
      const where = `line ${position.line}, column ${position.col}`;
      return {
        path: "",
        value: `YAML syntax error at ${where} of ${sourceName} (${error.code})`,
        expected: `valid YAML: ${firstLine(error.message)}`,
      };
    });
    throw new CacheConfigError(problems, sourceName);
  }
  return document.toJS({ maxAliasCount: 100 });
}

/**
 * parseCacheConfigYaml + normalizeCacheConfig, for the text of a file the user named: an empty
 * file, or one that names no upstream registry, is refused (`namedFile`).
 */
export function loadCacheConfigFromYaml(
  text: string,
  sourceName?: string,
  options: Pick<NormalizeCacheConfigOptions, "environment"> = {},
): EffectiveCacheConfig {
  try {
    return normalizeCacheConfig(parseCacheConfigYaml(text, sourceName), {
      ...options,
      namedFile: true,
    });
  } catch (error) {
    if (CacheConfigError.isInstance(error) && sourceName !== undefined) {
      throw new CacheConfigError(error.problems, sourceName);
    }
    throw error;
  }
}

function firstLine(message: string): string {
  // With prettyErrors off the message has no source excerpt; keep it to one line regardless.
  return message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? message;
}
