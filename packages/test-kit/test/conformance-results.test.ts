// Reading the conformance suite's results, from excerpts of what the suite printed and wrote in
// real runs (runs of the suite itself are the oci-distribution and cache conformance tests).
import { describe, expect, it } from "vitest";
import {
  type ConformanceRun,
  conformanceRunProblems,
  conformanceTestCases,
  parseConformanceJunit,
  parseConformanceSummary,
  renderConformanceJunit,
} from "../src/index.js";

const summary = `Test results
OCI Conformance Test: FAIL
  OCI Conformance Test/ping: Pass
  OCI Conformance Test/empty: Pass
    OCI Conformance Test/empty/tag list: Pass
    OCI Conformance Test/empty/referrers: Disabled
  OCI Conformance Test/sha256 blobs: Disabled
  OCI Conformance Test/read-only: FAIL
    OCI Conformance Test/read-only/head: FAIL
      OCI Conformance Test/read-only/head/manifest-head-by-tag: FAIL
       - manifest head failed: unexpected status code, expected one of [200], received 404
registry did not return a Docker-Content-Digest header
      OCI Conformance Test/read-only/head/blob-head: Pass
      OCI Conformance Test/read-only/head/blob-head: Pass

Configuration:
  registry: 127.0.0.1:5000
  tls: enabled

OCI Conformance Result: FAIL
  Disabled......................:          2
`;

const junit = `<testsuites time="5.0" tests="3" skipped="2">
  <testsuite name="OCI Conformance Test" tests="3" failures="0" errors="0" skipped="2" time="5.0">
    <testcase name="OCI Conformance Test/sha256 blobs/get-missing" classname="" time="0.01" status="passed">
      <system-err>GET /v2/conformance/repo1/blobs/sha256:00&#xA;Status: 404&#xA;</system-err>
    </testcase>
    <testcase name="OCI Conformance Test/sha256 blobs/mount anonymous/blob-mount-anonymous" classname="" time="0.01" status="skipped">
      <system-out>registry returned status 202, fell back to blob POST+PUT</system-out>
      <system-err>~~~ REQUEST ~~~&#xA;Method: POST&#xA;</system-err>
    </testcase>
    <testcase name="OCI Conformance Test/sha256 blobs/post cancel/blob-post-cancel" classname="" time="0.00" status="skipped">
      <system-err>OCI Conformance Test/sha256 blobs/post cancel/blob-post-cancel: skipping test:&#xA;  api Blob upload cancel is disabled in the configuration&#xA;</system-err>
    </testcase>
    <testcase name="OCI Conformance Test/image/pull/manifest-by-tag" classname="" time="0.01" status="failure">
      <system-out>Docker-Content-Digest header value expected &#34;sha256:aa&#34;, received &#34;sha256:bb&#34;</system-out>
      <system-err>Status: 200 &amp; more</system-err>
    </testcase>
  </testsuite>
</testsuites>`;

function runOf(overrides: Partial<ConformanceRun>): ConformanceRun {
  return {
    cases: [{ name: "OCI Conformance Test/ping", status: "pass", detail: "" }],
    result: "Pass",
    exitCode: 0,
    source: "junit",
    stdout: "",
    stderr: "",
    resultsDirectory: "/results",
    ...overrides,
  };
}

describe("parseConformanceSummary", () => {
  it("returns the leaves of the printed tree with their status and errors", () => {
    expect(parseConformanceSummary(summary)).toEqual([
      { name: "OCI Conformance Test/ping", status: "pass", detail: "" },
      { name: "OCI Conformance Test/empty/tag list", status: "pass", detail: "" },
      { name: "OCI Conformance Test/empty/referrers", status: "disabled", detail: "" },
      { name: "OCI Conformance Test/sha256 blobs", status: "disabled", detail: "" },
      {
        name: "OCI Conformance Test/read-only/head/manifest-head-by-tag",
        status: "fail",
        detail:
          "manifest head failed: unexpected status code, expected one of [200], received 404\nregistry did not return a Docker-Content-Digest header",
      },
      { name: "OCI Conformance Test/read-only/head/blob-head", status: "pass", detail: "" },
      { name: "OCI Conformance Test/read-only/head/blob-head", status: "pass", detail: "" },
    ]);
  });

  it("returns undefined for output without a result tree", () => {
    expect(parseConformanceSummary("failed to load config: open x.yaml: no such file\n")).toBe(
      undefined,
    );
  });
});

describe("parseConformanceJunit", () => {
  it("reads each testcase: decoded names and errors, skip reasons, configuration-disabled cases", () => {
    const cases = parseConformanceJunit(junit);
    expect(cases.map((testCase) => [testCase.name, testCase.status])).toEqual([
      ["OCI Conformance Test/sha256 blobs/get-missing", "pass"],
      ["OCI Conformance Test/sha256 blobs/mount anonymous/blob-mount-anonymous", "skip"],
      ["OCI Conformance Test/sha256 blobs/post cancel/blob-post-cancel", "disabled"],
      ["OCI Conformance Test/image/pull/manifest-by-tag", "fail"],
    ]);
    expect(cases[1]?.detail).toBe("registry returned status 202, fell back to blob POST+PUT");
    expect(cases[2]?.detail).toBe("api Blob upload cancel is disabled in the configuration");
    expect(cases[3]?.detail).toContain(
      'Docker-Content-Digest header value expected "sha256:aa", received "sha256:bb"',
    );
    expect(cases[3]?.detail).toContain("Status: 200 & more");
  });

  it("reads back what renderConformanceJunit writes", () => {
    const cases = parseConformanceSummary(summary) ?? [];
    const written = renderConformanceJunit(cases, 'rebuilt from "the summary" <here>');
    expect(written).toContain('tests="7" failures="1" errors="0" skipped="2"');
    expect(
      parseConformanceJunit(written).map((testCase) => [testCase.name, testCase.status]),
    ).toEqual(
      cases.map((testCase) => [
        testCase.name,
        // junit has one "skipped" status; the disabled note is the suite's own, not written back.
        testCase.status === "disabled" ? "skip" : testCase.status,
      ]),
    );
  });
});

describe("conformanceRunProblems", () => {
  it("accepts a passing run, and a crash while writing the report files after the summary", () => {
    expect(conformanceRunProblems(runOf({}))).toEqual([]);
    const crashedAfterSummary = runOf({
      source: "summary",
      exitCode: 2,
      stderr: "panic: runtime error: invalid memory address or nil pointer dereference\n",
    });
    expect(conformanceRunProblems(crashedAfterSummary)).toEqual([]);
  });

  it("reports a run without a result, a result its cases do not explain, and an unexplained exit code", () => {
    expect(
      conformanceRunProblems(runOf({ source: "none", result: undefined, exitCode: 1 }))[0],
    ).toContain("printed no result (exit code 1)");
    expect(conformanceRunProblems(runOf({ result: "Error", exitCode: 1 }))).toEqual([
      expect.stringContaining("the suite's result is Error but none of its cases failed"),
      expect.stringContaining("the suite exited with 1"),
    ]);
    const failedCase = runOf({
      result: "FAIL",
      exitCode: 1,
      cases: [{ name: "OCI Conformance Test/ping", status: "fail", detail: "404" }],
    });
    // A failed case is reported by its own test, not again here.
    expect(conformanceRunProblems(failedCase)).toEqual([]);
  });
});

describe("conformanceTestCases", () => {
  it("numbers repeated case names so every test name is unique", () => {
    const cases = parseConformanceSummary(summary) ?? [];
    expect(conformanceTestCases(runOf({ cases })).map((testCase) => testCase.testName)).toEqual([
      "OCI Conformance Test/ping",
      "OCI Conformance Test/empty/tag list",
      "OCI Conformance Test/empty/referrers",
      "OCI Conformance Test/sha256 blobs",
      "OCI Conformance Test/read-only/head/manifest-head-by-tag",
      "OCI Conformance Test/read-only/head/blob-head",
      "OCI Conformance Test/read-only/head/blob-head #2",
    ]);
  });
});
