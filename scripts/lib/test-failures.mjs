// What failed in a test run, printed just before the closing line so that a log cut to its last
// lines (CI shows ~100) still says which test failed and why.
import { relative } from "node:path";
import { dependencyFrame } from "./turbo-run.mjs";

const errorLines = 15;

function indented(lines) {
  return lines.map((line) => `    | ${line}`);
}

function firstLines(text, count) {
  const lines = text
    .replace(/\s+$/, "")
    .split("\n")
    .filter((line) => !dependencyFrame.test(line));
  return lines.length > count
    ? [...lines.slice(0, count), `(${lines.length - count} more lines in the log above)`]
    : lines;
}

/**
 * Lines describing every failure: each failed test (workspace, file, full name, the first lines
 * of its error), each file that failed without a failed test (its error), and each workspace
 * whose test task failed with no failed test in its report (crash, global setup, unhandled
 * error, no report) with the last lines of that task's output. Empty when nothing failed.
 *
 * `workspaces`: `{ name, directory, report, hasTests }` from readTestReports(), each with
 * `exitCode` (the test task's, undefined when unknown) and `outputTail` (its last lines).
 */
export function describeFailures(workspaces, root) {
  const lines = [];
  for (const workspace of workspaces) {
    const { name, report } = workspace;
    let failedTests = 0;
    for (const file of report?.testResults ?? []) {
      const path = relative(root, file.name);
      const failed = (file.assertionResults ?? []).filter((test) => test.status === "failed");
      failedTests += failed.length;
      for (const test of failed) {
        lines.push(`FAIL ${name} ${path}`, `  ${[...test.ancestorTitles, test.title].join(" > ")}`);
        lines.push(...indented(firstLines(test.failureMessages.join("\n"), errorLines)));
      }
      if (file.status === "failed" && failed.length === 0) {
        lines.push(
          `FAIL ${name} ${path}: the file failed without a failed test (a hook, or it did not load)`,
        );
        if (file.message) lines.push(...indented(firstLines(file.message, errorLines)));
      }
    }
    if (failedTests > 0) continue;
    const taskFailed = workspace.exitCode !== undefined && workspace.exitCode !== 0;
    const why =
      report === undefined && (workspace.hasTests || taskFailed)
        ? "wrote no test report: its test run did not finish"
        : taskFailed
          ? `test task exited ${workspace.exitCode} with no failed test in its report (a crash, its global setup, or an unhandled error)`
          : undefined;
    if (why === undefined) continue;
    const tail = workspace.outputTail ?? [];
    lines.push(
      `FAIL ${name} ${why}; ${tail.length > 0 ? `the last ${tail.length} lines of its output:` : "none of its output was kept"}`,
    );
    lines.push(...indented(tail));
  }
  return lines;
}
