/**
 * Reads the results of the OCI distribution-spec conformance suite: its `junit.xml`, or, when
 * the suite stopped before writing that file, the result tree it prints first on stdout. Also
 * writes a `junit.xml` from such a tree, so CI always has one.
 */

/** A leaf of the suite's result tree: one conformance case. */
export interface ConformanceCase {
  /** The suite's full name, e.g. `OCI Conformance Test/sha512 blobs/post only/blob-get`. */
  name: string;
  status: ConformanceStatus;
  /** Why it failed or was skipped (the suite's errors and notes); empty when it passed. */
  detail: string;
}

export type ConformanceStatus = "pass" | "skip" | "disabled" | "fail" | "error";

/** The suite's status words (results.go) mapped to ours. */
const treeStatuses: Record<string, ConformanceStatus> = {
  Pass: "pass",
  Skip: "skip",
  Disabled: "disabled",
  FAIL: "fail",
  Error: "error",
  Unknown: "error",
};

/** The overall result line: `OCI Conformance Result: Pass`. */
export function overallResultOf(stdout: string): string | undefined {
  return /^OCI Conformance Result: (\S+)$/m.exec(stdout)?.[1];
}

const nodeLine = /^( *)(.+): (Pass|Skip|Disabled|FAIL|Error|Unknown)$/;

/**
 * The cases of the tree printed under `Test results` (results.go ReportWalkErr): one line per
 * node, `<indent><full name>: <status>`, two spaces deeper per level, and after a leaf its
 * errors as `<indent> - <error>` (which may span lines). A leaf is a node with no deeper node
 * right after it. undefined when the output has no such tree.
 */
export function parseConformanceSummary(stdout: string): ConformanceCase[] | undefined {
  const lines = stdout.split("\n");
  const start = lines.indexOf("Test results");
  if (start < 0) return undefined;
  const nodes: { depth: number; name: string; status: ConformanceStatus; detail: string[] }[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line === "Configuration:") break;
    const match = nodeLine.exec(line);
    if (match !== null) {
      const [, indent = "", name = "", status = "Unknown"] = match;
      nodes.push({
        depth: indent.length,
        name,
        status: treeStatuses[status] ?? "error",
        detail: [],
      });
    } else if (line.trim() !== "") {
      nodes.at(-1)?.detail.push(line.trim().replace(/^- /, ""));
    }
  }
  if (nodes.length === 0) return undefined;
  return nodes
    .filter((node, index) => (nodes[index + 1]?.depth ?? -1) <= node.depth)
    .map((node) => ({ name: node.name, status: node.status, detail: node.detail.join("\n") }));
}

const junitStatuses: Record<string, ConformanceStatus> = {
  passed: "pass",
  skipped: "skip",
  failure: "fail",
  error: "error",
};

function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith("#x")) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(Number(entity.slice(1)));
    return { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[entity] ?? "";
  });
}

function attributeOf(attributes: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}="([^"]*)"`).exec(attributes);
  return match?.[1] === undefined ? undefined : decodeXmlText(match[1]);
}

function elementText(body: string, name: string): string {
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(body);
  return match?.[1] === undefined ? "" : decodeXmlText(match[1]);
}

/**
 * The cases of the suite's junit.xml (junit.go): one `<testcase name status>` per leaf, its
 * errors in `<system-out>` and its requests, responses and skip notes in `<system-err>`.
 */
export function parseConformanceJunit(xml: string): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  for (const match of xml.matchAll(/<testcase\b([^>]*)>([\s\S]*?)<\/testcase>/g)) {
    const [, attributes = "", body = ""] = match;
    const name = attributeOf(attributes, "name") ?? "(unnamed case)";
    const status = junitStatuses[attributeOf(attributes, "status") ?? ""] ?? "error";
    const errors = elementText(body, "system-out").trim();
    const output = elementText(body, "system-err");
    // A case skipped by configuration says why only in its output: "<name>: skipping test:\n  <why>".
    const skipNote = /skipping test:\n\s*(.+)/.exec(output)?.[1]?.trim() ?? "";
    if (status === "pass") {
      cases.push({ name, status, detail: "" });
    } else if (status === "skip") {
      const disabled = skipNote.includes("is disabled in the configuration");
      cases.push({ name, status: disabled ? "disabled" : "skip", detail: errors || skipNote });
    } else {
      // Failures keep the end of the requests and responses the suite recorded.
      cases.push({ name, status, detail: `${errors}\n${output.slice(-4000)}`.trim() });
    }
  }
  return cases;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"\n]/g,
    (character) =>
      ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "\n": "&#xA;" })[character] ??
      character,
  );
}

const junitStatusOf: Record<ConformanceStatus, string> = {
  pass: "passed",
  skip: "skipped",
  disabled: "skipped",
  fail: "failure",
  error: "error",
};

/** A junit.xml in the suite's own shape, for runs where the suite did not write one. */
export function renderConformanceJunit(cases: readonly ConformanceCase[], note: string): string {
  const count = (status: ConformanceStatus) => cases.filter((c) => c.status === status).length;
  const skipped = count("skip") + count("disabled");
  const totals = `tests="${cases.length}" failures="${count("fail")}" errors="${count("error")}" skipped="${skipped}"`;
  const testcases = cases.map((testCase) => {
    const detail =
      testCase.detail === "" ? "" : `<system-out>${escapeXml(testCase.detail)}</system-out>`;
    return `    <testcase name="${escapeXml(testCase.name)}" classname="" status="${junitStatusOf[testCase.status]}">${detail}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${totals}>`,
    `  <testsuite name="OCI Conformance Test" ${totals}>`,
    `    <properties><property name="Note" value="${escapeXml(note)}"></property></properties>`,
    ...testcases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
