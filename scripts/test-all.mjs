#!/usr/bin/env node
// The README's test command (`npm test`, also what .ci/run calls). On a fresh machine it installs
// what the tests need, then builds, type-checks, lints and runs every workspace's tests, and ends
// with one line "N passed, N failed, N skipped" counted from vitest's JSON reports, after an
// account of what failed (scripts/lib/test-failures.mjs).
import "./lib/require-node.mjs";
import { ensureGoTools } from "./lib/go-tools.mjs";
import { step } from "./lib/log.mjs";
import { cacheDirectory, prependToPath, repositoryRoot } from "./lib/paths.mjs";
import { ensureSystemPackages } from "./lib/system-packages.mjs";
import { describeFailures } from "./lib/test-failures.mjs";
import { countTests, readTestReports, removeTestReports } from "./lib/test-reports.mjs";
import { runTurbo } from "./lib/turbo-run.mjs";
import { prepareWorkspace } from "./lib/workspace.mjs";

const usage = `Usage: npm test [-- --filter <workspace>]

Installs what the tests need when it is missing (Debian packages, pnpm, the Go-built tools,
kept in ${cacheDirectory()}), builds, type-checks, lints and runs every workspace's tests.
Ends with "N passed, N failed, N skipped", after what failed; exits non-zero on any failure.

  --filter <name>   only this workspace (and what it depends on), e.g. @regmirror/test-kit
  --help            this text`;

function parseArguments(argv) {
  const options = { filters: [] };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === "--help" || argument === "-h") {
      console.log(usage);
      process.exit(0);
    } else if (argument === "--filter" && argv[index + 1]) {
      options.filters.push(argv[index + 1]);
      index += 1;
    } else {
      console.error(`unknown argument: ${argument}\n\n${usage}`);
      process.exit(2);
    }
  }
  return options;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  let env = process.env;
  if (process.getuid?.() === 0 || process.env.CI) env = prependToPath(env, "/usr/local/go/bin");

  step("checking system packages");
  ensureSystemPackages(env);

  env = prepareWorkspace(env);

  step("checking Go-built test tools");
  ensureGoTools(env);

  removeTestReports();
  step("building, type-checking, linting and testing");
  const filters = options.filters.flatMap((filter) => ["--filter", `${filter}...`]);
  const turbo = await runTurbo(
    [
      "run",
      "build",
      "typecheck",
      "lint",
      "test",
      "--log-order=grouped",
      "--concurrency=3",
      "--continue=always",
      ...filters,
    ],
    { cwd: repositoryRoot, env, task: "test", tailLines: 30 },
  );

  // With --filter, only the workspaces turbo ran tests for (all of them without its summary).
  const workspaces = readTestReports()
    .filter((workspace) => turbo.exitCodes?.has(workspace.name) ?? true)
    .map((workspace) => ({
      ...workspace,
      exitCode: turbo.exitCodes?.get(workspace.name),
      outputTail: turbo.tails.of(workspace.name),
    }));
  const failures = describeFailures(workspaces, repositoryRoot);
  const totals = countTests(workspaces);
  if (failures.length > 0) console.log(["", "What failed:", ...failures].join("\n"));
  if (turbo.status !== 0 && totals.failed === 0) {
    console.log(
      failures.length > 0
        ? "a test run failed without a failed test (see above)"
        : "a build, type-check or lint step failed (see above)",
    );
    totals.failed = 1;
  }
  console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  process.exit(turbo.status !== 0 || totals.failed > 0 ? 1 : 0);
}

main().catch((error) => {
  console.error(`test run stopped: ${error instanceof Error ? error.message : error}`);
  console.log("0 passed, 1 failed, 0 skipped");
  process.exit(1);
});
