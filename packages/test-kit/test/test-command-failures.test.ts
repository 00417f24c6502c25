// The test command's (`npm test`, scripts/test-all.mjs) account of what failed, printed before
// its closing line: from vitest JSON reports and turbo's output, given here as fixtures.
import { describe, expect, it } from "vitest";
import {
  describeFailures,
  type VitestReport,
  type WorkspaceTestRun,
} from "../../../scripts/lib/test-failures.mjs";
import { createTaskTails, taskExitCodes } from "../../../scripts/lib/turbo-run.mjs";

const root = "/repo";

function workspace(overrides: Partial<WorkspaceTestRun>): WorkspaceTestRun {
  return {
    name: "@regmirror/example",
    directory: "/repo/packages/example",
    report: undefined,
    hasTests: true,
    exitCode: 0,
    outputTail: [],
    ...overrides,
  };
}

const stack = [
  "AssertionError: expected 503 to be 200",
  "    at file:///repo/node_modules/.pnpm/vitest@5.1.1/node_modules/vitest/dist/chunks/run.js:1:1",
  ...Array.from({ length: 20 }, (_, line) => `    at frame${line} (/repo/x.ts:${line}:1)`),
].join("\n");

const reportWithOneFailure: VitestReport = {
  numPassedTests: 1,
  numFailedTests: 1,
  testResults: [
    {
      name: "/repo/packages/example/test/serve.test.ts",
      status: "failed",
      message: "",
      assertionResults: [
        {
          ancestorTitles: ["serving"],
          title: "answers 200",
          status: "passed",
          failureMessages: [],
        },
        {
          ancestorTitles: ["serving", "when busy"],
          title: "answers 200 too",
          status: "failed",
          failureMessages: [stack],
        },
      ],
    },
  ],
};

describe("describeFailures", () => {
  it("says nothing when every test passed and every task exited 0", () => {
    const passed: VitestReport = {
      numPassedTests: 1,
      testResults: [
        {
          name: "/repo/packages/example/test/a.test.ts",
          status: "passed",
          message: "",
          assertionResults: [
            { ancestorTitles: [], title: "works", status: "passed", failureMessages: [] },
          ],
        },
      ],
    };
    expect(
      describeFailures([workspace({ report: passed }), workspace({ hasTests: false })], root),
    ).toEqual([]);
  });

  it("names a failed test's workspace, file and full name, with the first 15 lines of its error", () => {
    const lines = describeFailures(
      [workspace({ report: reportWithOneFailure, exitCode: 1, outputTail: ["noise"] })],
      root,
    );
    expect(lines.slice(0, 4)).toEqual([
      "FAIL @regmirror/example packages/example/test/serve.test.ts",
      "  serving > when busy > answers 200 too",
      "    | AssertionError: expected 503 to be 200",
      "    |     at frame0 (/repo/x.ts:0:1)",
    ]);
    expect(lines).toHaveLength(2 + 15 + 1);
    expect(lines.at(-1)).toBe("    | (6 more lines in the log above)");
    // Frames inside dependencies (vitest's) are left out; the test's error says why, so the
    // task's output is not repeated.
    expect(lines.join("\n")).not.toContain("node_modules");
    expect(lines).not.toContain("    | noise");
  });

  it("shows a file that failed without a failed test (a failed beforeAll) with its error", () => {
    const report: VitestReport = {
      numFailedTests: 0,
      testResults: [
        {
          name: "/repo/packages/example/test/hook.test.ts",
          status: "failed",
          message: "Hook timed out in 120000ms.",
          assertionResults: [
            { ancestorTitles: [], title: "runs", status: "skipped", failureMessages: [] },
          ],
        },
      ],
    };
    const lines = describeFailures(
      [workspace({ report, exitCode: 1, outputTail: ["starting containerd", "Error: boom"] })],
      root,
    );
    expect(lines).toEqual([
      "FAIL @regmirror/example packages/example/test/hook.test.ts: the file failed without a failed test (a hook, or it did not load)",
      "    | Hook timed out in 120000ms.",
      "FAIL @regmirror/example test task exited 1 with no failed test in its report (a crash, its global setup, or an unhandled error); the last 2 lines of its output:",
      "    | starting containerd",
      "    | Error: boom",
    ]);
  });

  it("shows the output's tail of a task that failed with a clean report (an unhandled error)", () => {
    const lines = describeFailures(
      [
        workspace({
          report: { numPassedTests: 3, testResults: [] },
          exitCode: 1,
          outputTail: ["Unhandled Rejection", "Error: listen EADDRINUSE"],
        }),
      ],
      root,
    );
    expect(lines[0]).toMatch(/^FAIL @regmirror\/example test task exited 1 with no failed test/);
    expect(lines.slice(1)).toEqual(["    | Unhandled Rejection", "    | Error: listen EADDRINUSE"]);
  });

  it("says a workspace with tests wrote no report, even when its exit code is unknown", () => {
    const lines = describeFailures([workspace({ exitCode: undefined, outputTail: [] })], root);
    expect(lines).toEqual([
      "FAIL @regmirror/example wrote no test report: its test run did not finish; none of its output was kept",
    ]);
  });
});

describe("the turbo output the test command keeps", () => {
  it("keeps the last lines of each package's test task, without colours, apart from its other tasks", () => {
    const tails = createTaskTails("test", 2);
    for (const line of [
      "@regmirror/a:build: built",
      "@regmirror/a:test: one",
      "\u001b[36m@regmirror/b:test: \u001b[0mother",
      "@regmirror/a:test: two",
      "@regmirror/a:test: three: with a colon",
      "@regmirror/a:test:  ❯ runTest node_modules/.pnpm/vitest@5.1.1/node_modules/vitest/run.js:3:9",
      "  Tasks:    1 successful, 2 total",
    ])
      tails.add(line);
    expect(tails.of("@regmirror/a")).toEqual(["two", "three: with a colon"]);
    expect(tails.of("@regmirror/b")).toEqual(["other"]);
    expect(tails.of("@regmirror/c")).toEqual([]);
  });

  it("reads which packages ran their tests and the exit codes from turbo's run summary", () => {
    const summary = {
      tasks: [
        { package: "@regmirror/a", task: "test", execution: { exitCode: 1 } },
        { package: "@regmirror/a", task: "build", execution: { exitCode: 2 } },
        { package: "@regmirror/b", task: "test", execution: { exitCode: 0 } },
        { package: "@regmirror/c", task: "test" },
      ],
    };
    expect(taskExitCodes(summary, "test")).toEqual(
      new Map([
        ["@regmirror/a", 1],
        ["@regmirror/b", 0],
        ["@regmirror/c", undefined],
      ]),
    );
    expect(taskExitCodes(undefined, "test")).toBeUndefined();
  });
});
