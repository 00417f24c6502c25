// Collects every problem of a configuration, so all are reported at once.
import { type ConfigPath, formatConfigPath, valueAtPath } from "./config-path.js";
import type { ConfigProblem } from "./config-problem.js";
import { describeValue } from "./redaction.js";

/** Gathers problems found after the schema passed (conflicts between keys, dangling names). */
export interface ProblemCollector {
  add(path: ConfigPath, expected: string): void;
  /**
   * Whether the document sets `path`, even to a value the schema refused (and left out of what
   * the checks see): a check that counts keys counts what the user wrote.
   */
  given(path: ConfigPath): boolean;
  readonly problems: readonly ConfigProblem[];
}

export function createProblemCollector(document: unknown): ProblemCollector {
  const problems: ConfigProblem[] = [];
  return {
    add(path, expected) {
      problems.push({
        path: formatConfigPath(path),
        value: describeValue(valueAtPath(document, path), path),
        expected,
      });
    },
    given: (path) => valueAtPath(document, path) !== undefined,
    problems,
  };
}

/** Several ways to set one thing: only the first present one may be used. */
export function pickOne<T>(
  problems: ProblemCollector,
  what: string,
  candidates: ReadonlyArray<readonly [ConfigPath, T | undefined]>,
): T | undefined {
  const present = candidates.filter(
    (candidate): candidate is readonly [ConfigPath, T] => candidate[1] !== undefined,
  );
  const [first, ...others] = present;
  for (const [path] of others) {
    problems.add(
      path,
      `${what} set in one place only; it is already set by ${formatConfigPath(first?.[0] ?? [])}`,
    );
  }
  return first?.[1];
}
