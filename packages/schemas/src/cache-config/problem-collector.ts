// Collects every problem of a configuration, so all are reported at once.
import { type ConfigPath, formatConfigPath, valueAtPath } from "./config-path.js";
import type { ConfigProblem } from "./config-problem.js";
import { describeValue } from "./redaction.js";

/** Gathers problems found after the schema passed (conflicts between keys, dangling names). */
export interface ProblemCollector {
  add(path: ConfigPath, expected: string): void;
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
