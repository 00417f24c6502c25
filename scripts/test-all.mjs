#!/usr/bin/env node
// The README's test command (`npm test`, also what .ci/run calls). On a fresh machine it installs
// what the tests need, then builds, type-checks, lints and runs every workspace's tests, and ends
// with one line "N passed, N failed, N skipped" counted from vitest's JSON reports.
import "./lib/require-node.mjs";
import { ensureGoTools } from "./lib/go-tools.mjs";
import { step } from "./lib/log.mjs";
import { cacheDirectory, prependToPath, repositoryRoot } from "./lib/paths.mjs";
import { run } from "./lib/run.mjs";
import { ensureSystemPackages } from "./lib/system-packages.mjs";
import { removeTestReports, summarizeTestReports } from "./lib/test-reports.mjs";
import { prepareWorkspace } from "./lib/workspace.mjs";

const usage = `Usage: npm test [-- --filter <workspace>]

Installs what the tests need when it is missing (Debian packages, pnpm, the Go-built tools,
kept in ${cacheDirectory()}), builds, type-checks, lints and runs every workspace's tests.
Ends with "N passed, N failed, N skipped"; exits non-zero on any failure.

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

function main() {
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
  const status = run(
    "pnpm",
    [
      "exec",
      "turbo",
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
    { cwd: repositoryRoot, env },
  );

  const totals = summarizeTestReports();
  for (const workspace of totals.missing)
    console.log(`no test report from ${workspace}: its test run did not finish`);
  if (status !== 0 && totals.failed === 0) {
    console.log("a build, type-check or lint step failed (see above)");
    totals.failed = 1;
  }
  console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  process.exit(status !== 0 || totals.failed > 0 ? 1 : 0);
}

try {
  main();
} catch (error) {
  console.error(`test run stopped: ${error instanceof Error ? error.message : error}`);
  console.log("0 passed, 1 failed, 0 skipped");
  process.exit(1);
}
