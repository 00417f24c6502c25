// The vitest JSON reports of every workspace (reports/vitest.json): found, read and counted.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { repositoryRoot } from "./paths.mjs";

/** The workspaces of pnpm-workspace.yaml: every directory of packages/ and apps/, and e2e/. */
function workspaceDirectories() {
  const grouped = ["packages", "apps"].flatMap((group) => {
    const groupDirectory = join(repositoryRoot, group);
    if (!existsSync(groupDirectory)) return [];
    return readdirSync(groupDirectory, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(groupDirectory, entry.name));
  });
  const e2e = join(repositoryRoot, "e2e");
  return existsSync(e2e) ? [...grouped, e2e] : grouped;
}

function reportPath(workspace) {
  return join(workspace, "reports", "vitest.json");
}

/** Old reports must not be counted again. */
export function removeTestReports() {
  for (const workspace of workspaceDirectories())
    rmSync(join(workspace, "reports"), { recursive: true, force: true });
}

/**
 * Every workspace with its package name, its vitest JSON report (undefined when there is none)
 * and whether it has test files at all.
 */
export function readTestReports() {
  return workspaceDirectories().map((directory) => {
    const manifestPath = join(directory, "package.json");
    const name = existsSync(manifestPath)
      ? (JSON.parse(readFileSync(manifestPath, "utf8")).name ?? relative(repositoryRoot, directory))
      : relative(repositoryRoot, directory);
    const path = reportPath(directory);
    return {
      name,
      directory,
      report: existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined,
      hasTests: hasTestFiles(directory),
    };
  });
}

/**
 * Adds up the reports of `readTestReports()`. A workspace with test files but no report did not
 * finish its run: it counts as one failure so the closing line cannot look green.
 */
export function countTests(workspaces) {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  for (const { report, hasTests } of workspaces) {
    if (report === undefined) {
      if (hasTests) totals.failed += 1;
      continue;
    }
    totals.passed += report.numPassedTests ?? 0;
    totals.failed += (report.numFailedTests ?? 0) + failedFilesWithoutFailedTests(report).length;
    totals.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  }
  return totals;
}

/** Files that failed with no failed test (one that did not load, a failed hook): they count. */
export function failedFilesWithoutFailedTests(report) {
  return (report.testResults ?? []).filter(
    (file) =>
      file.status === "failed" &&
      (file.assertionResults ?? []).every((test) => test.status !== "failed"),
  );
}

function hasTestFiles(directory) {
  const stack = [join(directory, "src"), join(directory, "test")];
  while (stack.length > 0) {
    const current = stack.pop();
    if (!existsSync(current)) continue;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (entry.isDirectory()) stack.push(join(current, entry.name));
      else if (entry.name.endsWith(".test.ts")) return true;
    }
  }
  return false;
}
