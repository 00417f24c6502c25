// What is wrong with a configuration: problems, notices, and CacheConfigError.
import { brandedError } from "@regmirror/core";

/** One thing wrong with a configuration file: where, what was there, what should be there. */
export interface ConfigProblem {
  /** Key path like `middleware.registry[0].options.blobttl`; empty for the whole document. */
  readonly path: string;
  /** The value found, rendered for people; `<redacted>` for secrets, `(missing)` when absent. */
  readonly value: string;
  /** What would have been accepted. */
  readonly expected: string;
}

/** A setting that was accepted for compatibility but changes nothing in regmirror. */
export interface ConfigNotice {
  readonly path: string;
  readonly message: string;
}

/** Thrown when a cache configuration cannot be used; `problems` lists every reason found. */
export class CacheConfigError extends brandedError<"REGMIRROR_CACHE_CONFIG_INVALID">(
  "@regmirror/schemas.CacheConfigError",
) {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], source = "the cache configuration") {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(
      "REGMIRROR_CACHE_CONFIG_INVALID",
      `${source} has ${count}:\n${formatConfigProblems(problems)}`,
    );
    this.problems = problems;
  }
}

/** `  - path = value: expected …`, one line per problem. */
export function formatConfigProblem(problem: ConfigProblem): string {
  const where = problem.path === "" ? "(top level)" : problem.path;
  return `${where} = ${problem.value}: expected ${problem.expected}`;
}

export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((problem) => `  - ${formatConfigProblem(problem)}`).join("\n");
}
