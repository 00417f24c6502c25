/**
 * Runs the OCI distribution-spec conformance suite (a Go program built by the test command, see
 * scripts/go-tools.json) against a registry, and turns its cases into test cases: one per case
 * of the suite, named after it, so a failed conformance case is a failed test.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ConformanceCase,
  overallResultOf,
  parseConformanceJunit,
  parseConformanceSummary,
  renderConformanceJunit,
} from "./conformance-results.js";
import { runToExit } from "./processes.js";
import { toolPath } from "./tool-path.js";

export interface ConformanceSuiteOptions {
  /** The suite's `OCI_*` settings (OCI_REGISTRY, OCI_TLS, OCI_API_PUSH, OCI_RO_DATA_TAGS, ...). */
  settings: Record<`OCI_${string}`, string>;
  /** Where results.yaml, junit.xml and report.html go; emptied first. Keep it for CI. */
  resultsDirectory: string;
  /** A PEM file of CAs Go trusts for `OCI_TLS=enabled` (its SSL_CERT_FILE). */
  caFile?: string;
  /** The whole run is stopped after this long. Default 10 minutes. */
  timeoutMs?: number;
}

export interface ConformanceRun {
  cases: ConformanceCase[];
  /** The summary's `OCI Conformance Result` (`Pass`, `FAIL`, ...); undefined without a summary. */
  result: string | undefined;
  exitCode: number | null;
  /** junit: the suite's junit.xml; summary: the tree it printed (it stopped before junit.xml). */
  source: "junit" | "summary" | "none";
  stdout: string;
  stderr: string;
  resultsDirectory: string;
}

/** Runs the suite to its end; never throws for what the suite reports (see conformanceRunProblems). */
export async function runConformanceSuite(
  options: ConformanceSuiteOptions,
): Promise<ConformanceRun> {
  const binary = toolPath("conformance");
  const { resultsDirectory } = options;
  rmSync(resultsDirectory, { recursive: true, force: true });
  mkdirSync(resultsDirectory, { recursive: true });
  // Only what the suite needs: an OCI_* variable of the caller's shell must not change the run.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...options.settings,
    OCI_RESULTS_DIR: resultsDirectory,
    ...(options.caFile === undefined ? {} : { SSL_CERT_FILE: options.caFile }),
  };
  // cwd: the suite reads ./oci-conformance.yaml when there is one; the fresh directory has none.
  const { exitCode, stdout, stderr } = await runToExit(binary, [], {
    cwd: resultsDirectory,
    env,
    timeoutMs: options.timeoutMs ?? 600_000,
  });

  const junitPath = join(resultsDirectory, "junit.xml");
  const result = overallResultOf(stdout);
  let source: ConformanceRun["source"] = "none";
  let cases: ConformanceCase[] = [];
  if (existsSync(junitPath)) {
    source = "junit";
    cases = parseConformanceJunit(readFileSync(junitPath, "utf8"));
  } else {
    const fromSummary = parseConformanceSummary(stdout);
    if (fromSummary !== undefined && result !== undefined) {
      source = "summary";
      cases = fromSummary;
      // This version of the suite can crash writing results.yaml (a nil pointer in
      // ReportResultsYAML in read-only mode) before junit.xml: CI still gets one.
      writeFileSync(
        junitPath,
        renderConformanceJunit(
          cases,
          "written by @regmirror/test-kit from the suite's printed summary: the suite stopped before writing junit.xml",
        ),
      );
    }
  }
  writeFileSync(join(resultsDirectory, "output.txt"), `${stdout}\n--- stderr ---\n${stderr}`);
  return { cases, result, exitCode, source, stdout, stderr, resultsDirectory };
}

/**
 * What is wrong with the run as a whole, beyond its cases: no summary, a result the cases do
 * not explain (an error of the suite itself is not a case), or a crash before the summary.
 */
export function conformanceRunProblems(run: ConformanceRun): string[] {
  const problems: string[] = [];
  const tail = `\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-4000)}`;
  if (run.source === "none" || run.result === undefined) {
    return [`the suite printed no result (exit code ${run.exitCode}):${tail}`];
  }
  const failed = run.cases.some(
    (testCase) => testCase.status === "fail" || testCase.status === "error",
  );
  if (run.result !== "Pass" && !failed) {
    problems.push(`the suite's result is ${run.result} but none of its cases failed:${tail}`);
  }
  // After the summary the suite only writes its report files; a crash there loses no result.
  const crashedWritingReports = run.source === "summary" && run.stderr.includes("panic:");
  if (run.exitCode !== 0 && !failed && !crashedWritingReports) {
    problems.push(`the suite exited with ${run.exitCode}:${tail}`);
  }
  return problems;
}

export interface ConformanceTestCase extends ConformanceCase {
  /** The case's name, with ` #2`, ` #3`... on repeats (the suite runs a check once per blob). */
  testName: string;
}

/** The run's cases with unique test names, in the suite's order. */
export function conformanceTestCases(run: ConformanceRun): ConformanceTestCase[] {
  const seen = new Map<string, number>();
  return run.cases.map((testCase) => {
    const count = (seen.get(testCase.name) ?? 0) + 1;
    seen.set(testCase.name, count);
    return { ...testCase, testName: count === 1 ? testCase.name : `${testCase.name} #${count}` };
  });
}

/** The part of vitest's `test` that registerConformanceTests uses. */
export type RegisterTest = (
  name: string,
  body: (context: { skip(note?: string): void }) => void,
) => void;

/**
 * One test per case of the run (skipped and disabled cases are skipped tests with the suite's
 * reason), plus one test that the run itself finished with a result its cases explain.
 */
export function registerConformanceTests(run: ConformanceRun, test: RegisterTest): void {
  const totals = run.cases.reduce<Record<string, number>>((counts, testCase) => {
    counts[testCase.status] = (counts[testCase.status] ?? 0) + 1;
    return counts;
  }, {});
  const summary = Object.entries(totals)
    .map(([status, count]) => `${count} ${status}`)
    .join(", ");
  test(`the suite ran to its result (${run.result ?? "none"}: ${summary || "no cases"})`, () => {
    const problems = conformanceRunProblems(run);
    if (problems.length > 0) throw new Error(problems.join("\n"));
  });
  for (const testCase of conformanceTestCases(run)) {
    test(testCase.testName, (context) => {
      if (testCase.status === "disabled") {
        context.skip(
          `disabled by the run's settings${testCase.detail ? `: ${testCase.detail}` : ""}`,
        );
        return;
      }
      if (testCase.status === "skip") {
        context.skip(`skipped by the suite: ${testCase.detail}`);
        return;
      }
      if (testCase.status !== "pass") {
        throw new Error(
          `${testCase.status}: ${testCase.detail}\n(results in ${run.resultsDirectory})`,
        );
      }
    });
  }
}
