#!/usr/bin/env node
// The regmirror-cache executable. Its dependencies use Node APIs at import time that older Node
// lacks, so the version is checked here, before anything else is loaded, and the command line
// runs only on a Node that can run it.
import { nodeVersionProblem } from "./node-version.js";

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`regmirror-cache: ${problem}\n`);
  process.exit(1);
}
await import("./process-main.js");
