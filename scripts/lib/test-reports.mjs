import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
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
 * Adds up vitest's JSON reports (one per workspace). A workspace with test files but no report
 * did not finish its run: it counts as one failure so the closing line cannot look green.
 */
export function summarizeTestReports() {
  const totals = { passed: 0, failed: 0, skipped: 0, missing: [] };
  for (const workspace of workspaceDirectories()) {
    const path = reportPath(workspace);
    if (!existsSync(path)) {
      if (hasTestFiles(workspace)) {
        totals.failed += 1;
        totals.missing.push(workspace);
      }
      continue;
    }
    const report = JSON.parse(readFileSync(path, "utf8"));
    totals.passed += report.numPassedTests ?? 0;
    totals.failed += (report.numFailedTests ?? 0) + failedSuitesWithoutTests(report);
    totals.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  }
  return totals;
}

/** A test file that fails to load has no failed test but a failed suite: count it. */
function failedSuitesWithoutTests(report) {
  return (report.testResults ?? []).filter(
    (file) =>
      file.status === "failed" &&
      (file.assertionResults ?? []).every((test) => test.status !== "failed"),
  ).length;
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
