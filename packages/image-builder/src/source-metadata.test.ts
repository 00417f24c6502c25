// The revision the images are labelled with, read from a real git checkout: "-dirty" only when a
// tracked file changed, so short-lived untracked files of other tools never change a build.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chartFile, readSourceMetadata } from "./source-metadata.js";

let repository: string;
let commit: string;

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: repository, encoding: "utf8" }).trim();
}

beforeAll(() => {
  repository = makeTempDirectory("regmirror-source-metadata-");
  mkdirSync(join(repository, "deploy/helm/regmirror-operator"), { recursive: true });
  writeFileSync(join(repository, chartFile), 'appVersion: "1.2.3"\n');
  git("init", "--quiet");
  git("add", ".");
  git(
    "-c",
    "user.name=test",
    "-c",
    "user.email=test@example.invalid",
    "commit",
    "--quiet",
    "--message=chart",
  );
  commit = git("rev-parse", "HEAD");
});

afterAll(async () => {
  if (repository) await removeTempDirectory(repository);
});

describe("the source revision", () => {
  it("is the commit when an untracked file (tsup's bundled config, mid-build) is in the tree", async () => {
    writeFileSync(join(repository, "tsup.config.bundled_x1.mjs"), "export default {};\n");
    const source = await readSourceMetadata({ repositoryRoot: repository, env: {} });
    expect(source).toMatchObject({ version: "1.2.3", revision: commit });
  });

  it('is the commit with "-dirty" when a tracked file changed', async () => {
    writeFileSync(join(repository, chartFile), 'appVersion: "1.2.4"\n');
    const source = await readSourceMetadata({ repositoryRoot: repository, env: {} });
    expect(source).toMatchObject({ version: "1.2.4", revision: `${commit}-dirty` });
  });
});
