#!/usr/bin/env node
// `npm run image` (or `pnpm image`): installs the workspace, builds the image builder
// (packages/image-builder) and runs it on the project's Node. Arguments go to the builder:
// `npm run image -- --help`.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { step } from "./lib/log.mjs";
import { repositoryRoot } from "./lib/paths.mjs";
import { buildWorkspace } from "./lib/run.mjs";
import { prepareWorkspace } from "./lib/workspace.mjs";

const env = prepareWorkspace(process.env);
step("building @regmirror/image-builder and its dependencies");
buildWorkspace("@regmirror/image-builder", env);

// Node 26 from the workspace (the root devDependency `node`; its binary, not the `.bin` shell shim,
// so signals reach it): its zlib makes the layers' bytes.
const node = join(repositoryRoot, "node_modules", "node", "bin", "node");
const builder = join(repositoryRoot, "packages", "image-builder", "dist", "main.js");
const child = spawn(node, [builder, ...process.argv.slice(2)], { stdio: "inherit", env });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
