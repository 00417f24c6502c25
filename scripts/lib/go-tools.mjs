import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import { step } from "./log.mjs";
import { cacheDirectory, prependToPath, repositoryRoot } from "./paths.mjs";
import { hasCommand, runOrThrow } from "./run.mjs";

export function readGoTools() {
  return JSON.parse(readFileSync(join(repositoryRoot, "scripts", "go-tools.json"), "utf8")).tools;
}

/** `<cache>/tools/<name>-<version>`: the same rule as toolPath() in @regmirror/test-kit. */
export function toolDirectory(tool) {
  return join(cacheDirectory(), "tools", `${tool.name}-${tool.version}`);
}

/** The commands an entry builds into its bin/ directory (default: the one named like it). */
export function toolCommands(tool) {
  return tool.commands ?? [tool.name];
}

/** Built when every command is there: an entry that gained a command is built again. */
function isBuilt(tool) {
  return toolCommands(tool).every((command) =>
    existsSync(join(toolDirectory(tool), "bin", command)),
  );
}

function goEnvironment(env) {
  const withGo = existsSync("/usr/local/go/bin") ? prependToPath(env, "/usr/local/go/bin") : env;
  if (!hasCommand("go", withGo)) {
    throw new Error(
      "the Go toolchain is missing: install Go (https://go.dev/doc/install) and put it on PATH",
    );
  }
  return { ...withGo, CGO_ENABLED: "0" };
}

function buildInto(tool, outDirectory, env) {
  const binDirectory = join(outDirectory, "bin");
  mkdirSync(binDirectory, { recursive: true });
  if (tool.kind === "install") {
    const packages = tool.packages ?? [tool.package];
    runOrThrow("go", ["install", ...packages.map((pkg) => `${pkg}@${tool.version}`)], {
      env: { ...env, GOBIN: binDirectory },
    });
  } else if (tool.kind === "test-binary") {
    const info = JSON.parse(
      execFileSync("go", ["mod", "download", "-json", `${tool.module}@${tool.version}`], {
        env,
        encoding: "utf8",
      }),
    );
    // The module cache is read-only; build in a writable copy.
    const source = join(outDirectory, "src");
    cpSync(info.Dir, source, { recursive: true });
    runOrThrow("chmod", ["-R", "u+w", source]);
    runOrThrow("go", ["test", "-c", "-o", join(binDirectory, tool.name), tool.package], {
      cwd: source,
      env: { ...env, GOFLAGS: "-mod=mod" },
    });
    rmSync(source, { recursive: true, force: true });
  } else if (tool.kind === "script") {
    runOrThrow(
      "node",
      [
        join(repositoryRoot, "scripts", "go-builds", `${tool.name}.mjs`),
        outDirectory,
        tool.version,
        ...toolCommands(tool),
      ],
      { env },
    );
  } else {
    throw new Error(`scripts/go-tools.json: tool ${tool.name} has unknown kind ${tool.kind}`);
  }
  const missing = toolCommands(tool).filter((command) => !existsSync(join(binDirectory, command)));
  if (missing.length > 0) {
    throw new Error(`building ${tool.name} ${tool.version} left out ${missing.join(", ")}`);
  }
}

/**
 * Another run may have finished the same build first: then its copy stands and ours goes. An
 * older copy that lacks a command the entry now lists is moved aside first.
 */
function moveIntoPlace(tool, workDirectory, finalDirectory) {
  if (existsSync(finalDirectory) && !isBuilt(tool)) {
    const outdated = mkdtempSync(`${finalDirectory}.outdated-`);
    renameSync(finalDirectory, join(outdated, "old"));
    rmSync(outdated, { recursive: true, force: true });
  }
  try {
    renameSync(workDirectory, finalDirectory);
  } catch (error) {
    if (!existsSync(finalDirectory)) throw error;
    rmSync(workDirectory, { recursive: true, force: true });
  }
}

/** Builds every tool that is not in the cache yet; a finished build is renamed into place. */
export function ensureGoTools(env) {
  const tools = readGoTools();
  const missing = tools.filter((tool) => !isBuilt(tool));
  if (missing.length === 0) return;
  const goEnv = goEnvironment(env);
  for (const tool of missing) {
    const finalDirectory = toolDirectory(tool);
    mkdirSync(join(finalDirectory, ".."), { recursive: true });
    const workDirectory = mkdtempSync(`${finalDirectory}.building-`);
    const started = Date.now();
    step(`building ${tool.name} ${tool.version} (once; kept in ${finalDirectory})`);
    try {
      buildInto(tool, workDirectory, goEnv);
      moveIntoPlace(tool, workDirectory, finalDirectory);
    } catch (error) {
      rmSync(workDirectory, { recursive: true, force: true });
      throw error;
    }
    step(`built ${tool.name} in ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }
}
