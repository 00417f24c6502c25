#!/usr/bin/env node
// The regmirror-cache executable. The only module that touches the process: its arguments,
// its output streams and its exit code.
import { access, constants, readFile } from "node:fs/promises";
import { runCli } from "./cli/run-cli.js";

const exitCode = await runCli(process.argv.slice(2), {
  writeOut: (text) => process.stdout.write(text),
  writeError: (text) => process.stderr.write(text),
  readTextFile: (path) => readFile(path, "utf8"),
  isReadable: (path) =>
    access(path, constants.R_OK).then(
      () => true,
      () => false,
    ),
});
process.exitCode = exitCode;
