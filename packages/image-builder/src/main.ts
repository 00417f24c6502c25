#!/usr/bin/env node
// `npm run image`: the only module that touches the process (arguments, output, environment).
import { runImageCommand } from "./image-command.js";

process.exitCode = await runImageCommand(process.argv.slice(2), {
  writeOut: (text) => process.stdout.write(text),
  writeError: (text) => process.stderr.write(text),
  env: process.env,
});
