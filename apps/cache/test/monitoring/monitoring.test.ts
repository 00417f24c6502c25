// The Grafana dashboard and the PrometheusRule alerts in deploy/monitoring: every query names
// metrics (and labels) the cache exposes, every query is PromQL that Prometheus's own promtool
// parses, and each alert fires on the series it is about (`promtool test rules`).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDirectory, removeTempDirectory, runCommand } from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { createCacheMetrics } from "../../src/metrics/cache-metrics.js";
import { registerWorkerScrapeGauges } from "../../src/workers/metrics-across-workers.js";

const monitoring = new URL("../../../../deploy/monitoring/", import.meta.url);
const dashboard = JSON.parse(
  readFileSync(new URL("regmirror-cache-dashboard.json", monitoring), "utf8"),
) as { panels: { title: string; targets: { expr: string }[] }[] };
const alerts = parse(readFileSync(new URL("regmirror-cache-alerts.yaml", monitoring), "utf8")) as {
  kind: string;
  spec: { groups: { name: string; rules: { alert: string; expr: string }[] }[] };
};

/** Metric name → its label names, as the cache exposes them (with several workers too). */
const { registry } = createCacheMetrics();
registerWorkerScrapeGauges(registry);
const exposed = new Map(
  registry.getMetricsAsArray().map((metric) => {
    const { name, labelNames } = metric as unknown as { name: string; labelNames?: string[] };
    return [name, labelNames ?? []] as const;
  }),
);
/** Labels Prometheus adds to every series, and a histogram's bucket label. */
const scrapeLabels = ["job", "instance", "le"];

/** The metric names an expression selects, with the labels its selectors match on. */
function selectors(expr: string): { metric: string; labels: string[] }[] {
  const found = [];
  for (const match of expr.matchAll(/\b((?:regmirror_cache|process|nodejs)_\w+)(\{([^}]*)\})?/g)) {
    const metric = (match[1] ?? "").replace(/_(bucket|sum|count)$/, "");
    const labels = [...(match[3] ?? "").matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map(
      (label) => label[1] ?? "",
    );
    found.push({ metric, labels });
  }
  return found;
}

function expectKnownMetrics(where: string, expr: string) {
  const used = selectors(expr);
  expect(used.length, `${where} names no regmirror metric`).toBeGreaterThan(0);
  for (const { metric, labels } of used) {
    expect(exposed.has(metric), `${where}: ${metric} is not a metric of the cache`).toBe(true);
    for (const label of labels) {
      expect(
        [...(exposed.get(metric) ?? []), ...scrapeLabels],
        `${where}: ${metric} has no label ${label}`,
      ).toContain(label);
    }
  }
}

let directory: string;

beforeAll(() => {
  directory = makeTempDirectory("regmirror-monitoring-");
});

afterAll(async () => {
  if (directory) await removeTempDirectory(directory);
});

test("every dashboard query names metrics and labels the cache exposes", () => {
  expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
  for (const panel of dashboard.panels) {
    expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    for (const target of panel.targets) expectKnownMetrics(`panel "${panel.title}"`, target.expr);
  }
});

test("every dashboard query is PromQL that promtool parses (Grafana's variables filled in)", async () => {
  const rules = dashboard.panels.flatMap((panel, index) =>
    panel.targets.map((target, targetIndex) => ({
      record: `dashboard:panel_${index}_${targetIndex}`,
      expr: target.expr
        .replaceAll("$__rate_interval", "5m")
        .replaceAll("$__range", "6h")
        .replaceAll("$job", ".*"),
    })),
  );
  const file = join(directory, "dashboard-queries.rules.yaml");
  writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
  const checked = await runCommand("promtool", ["check", "rules", file]);
  expect(checked.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
});

test("the alerts cover what an operator is woken for, and name metrics the cache exposes", () => {
  expect(alerts.kind).toBe("PrometheusRule");
  const rules = alerts.spec.groups.flatMap((group) => group.rules);
  expect(rules.map((rule) => rule.alert).sort()).toEqual([
    "RegmirrorFillsFailingVerification",
    "RegmirrorHitRatioLow",
    "RegmirrorRateLimitHeadroomLow",
    "RegmirrorRateLimited",
    "RegmirrorStoreNearCap",
    "RegmirrorUpstreamDown",
    "RegmirrorWorkerNotAnswering",
  ]);
  for (const rule of rules) expectKnownMetrics(`alert ${rule.alert}`, rule.expr);
});

test("promtool checks the alert rules, and each alert fires on its series and not before", async () => {
  // promtool reads plain rule files: the PrometheusRule's spec.groups, written out.
  const rulesFile = join(directory, "regmirror-cache-alerts.rules.yaml");
  writeFileSync(rulesFile, stringify({ groups: alerts.spec.groups }));
  const checked = await runCommand("promtool", ["check", "rules", rulesFile]);
  expect(checked.stdout).toContain("SUCCESS: 7 rules found");

  const testsFile = join(directory, "regmirror-cache-alerts.test.yaml");
  writeFileSync(
    testsFile,
    readFileSync(new URL("regmirror-cache-alerts.test.yaml", monitoring), "utf8"),
  );
  const tested = await runCommand("promtool", ["test", "rules", testsFile], { cwd: directory });
  expect(tested.stdout).toContain("SUCCESS");
});
