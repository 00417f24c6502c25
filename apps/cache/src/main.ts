#!/usr/bin/env node
// The regmirror-cache executable. Its dependencies use Node APIs at import time that older Node
// lacks, so the version is checked here, before anything else is loaded, and the command line
// runs only on a Node that can run it. A worker other than the first loads only what serving
// needs (docs/adr/0040-memory-per-worker.md).
import { nodeVersionProblem } from "./node-version.js";
import { otherWorkerVariable } from "./workers/worker-environment.js";

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`regmirror-cache: ${problem}\n`);
  process.exit(1);
}
if (process.env[otherWorkerVariable] === "1") await import("./other-worker-main.js");
else await import("./process-main.js");
