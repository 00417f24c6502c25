// Types of test-failures.mjs for the TypeScript test that checks it (packages/test-kit).

export interface VitestTestResult {
  ancestorTitles: string[];
  title: string;
  status: string;
  failureMessages: string[];
}

export interface VitestFileResult {
  name: string;
  status: string;
  message: string;
  assertionResults: VitestTestResult[];
}

/** The parts of vitest's JSON report (reports/vitest.json) the test command reads. */
export interface VitestReport {
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  testResults?: VitestFileResult[];
}

export interface WorkspaceTestRun {
  name: string;
  directory: string;
  report: VitestReport | undefined;
  hasTests: boolean;
  exitCode: number | undefined;
  outputTail: string[];
}

export function describeFailures(workspaces: WorkspaceTestRun[], root: string): string[];
