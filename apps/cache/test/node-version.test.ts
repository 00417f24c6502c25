// One answer to "which Node?": the README, every package.json `engines` field and the code that
// refuses an older Node say the same, and the executable on an older Node fails at once with a
// sentence naming the version it needs (not a TypeError from a dependency).
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { minimumNodeVersion, nodeVersionProblem } from "../src/node-version.js";
import { buildProductionBundle } from "./daemon/production-bundle.js";

const repositoryRoot = resolve(import.meta.dirname, "..", "..", "..");
const readText = (path: string) => readFileSync(join(repositoryRoot, path), "utf8");
const majorMinor = (version: string) => version.split(".").slice(0, 2).join(".");

/** A Node on this machine older than the executable needs (the machine's own), if any. */
function olderNode(): string | undefined {
  const found = spawnSync("sh", ["-c", "which -a node nodejs"], { encoding: "utf8" }).stdout;
  for (const candidate of found.split("\n").filter(Boolean)) {
    if (candidate.includes("node_modules")) continue;
    const version = execFileSync(candidate, ["--version"], { encoding: "utf8" }).trim();
    if (nodeVersionProblem(version) !== undefined) return candidate;
  }
  return undefined;
}

describe("the Node version", () => {
  test("every package's engines field, the README and the executable's check agree", () => {
    const packageFiles = ["apps", "packages"].flatMap((group) =>
      readdirSync(join(repositoryRoot, group)).map((name) => join(group, name, "package.json")),
    );
    for (const file of packageFiles) {
      const manifest = JSON.parse(readText(file));
      // Every published package and app says which Node it needs; a private test-only
      // workspace may leave it out, but if it says, it says the same.
      if (manifest.private === true && !String(file).startsWith("apps/") && !manifest.engines)
        continue;
      expect({ file, node: manifest.engines?.node }).toEqual({
        file,
        node: `>=${majorMinor(minimumNodeVersion)}`,
      });
    }
    const readme = readText("README.md");
    expect(readme).toContain(`Node ${majorMinor(minimumNodeVersion)} or newer`);

    // The root package is the scripts behind npm test / npm start, which install Node 26.
    const scriptsMinimum = /minimumScriptNodeVersion = "([\d.]+)"/.exec(
      readText("scripts/lib/require-node.mjs"),
    )?.[1];
    expect(scriptsMinimum).toBeDefined();
    expect(JSON.parse(readText("package.json")).engines.node).toBe(
      `>=${majorMinor(scriptsMinimum ?? "")}`,
    );
    expect(readme).toContain(`Node (${majorMinor(scriptsMinimum ?? "")} or newer)`);
    expect(JSON.parse(readText("package.json")).devDependencies.node).toMatch(/^26\./);
  });

  test("the check: older is refused with a sentence naming the version needed", () => {
    expect(nodeVersionProblem("22.19.0")).toBeUndefined();
    expect(nodeVersionProblem("26.10.0")).toBeUndefined();
    expect(nodeVersionProblem("v22.18.9")).toBe(
      `this is Node 22.18.9, and regmirror-cache needs Node ${minimumNodeVersion} or newer (the repository's \`npm start\` brings its own Node 26).`,
    );
  });

  describe("the executable on this machine's own, older Node", () => {
    const node = olderNode();
    let bundle: string;
    beforeAll(async () => {
      if (node !== undefined) bundle = await buildProductionBundle();
    });

    test.skipIf(node === undefined)("fails at once with the sentence, exit code 1", () => {
      const result = spawnSync(node ?? "", [bundle, "serve"], { encoding: "utf8" });
      const version = execFileSync(node ?? "", ["--version"], { encoding: "utf8" }).trim();
      expect(result.status).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(`regmirror-cache: ${nodeVersionProblem(version)}\n`);
    });
  });
});
