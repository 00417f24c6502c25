// What the images say about their source: the version, the commit, and the time every file and
// the image itself are dated (SOURCE_DATE_EPOCH, else the commit's time), so a rebuild of the
// same commit gives the same digests.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runProgramText } from "./inputs/run-program.js";

export const sourceRepositoryUrl = "https://github.com/regmirror/regmirror";

/** Where the release version lives: the Helm chart's appVersion (the chart's default image tag). */
export const chartFile = "deploy/helm/regmirror-operator/Chart.yaml";

export interface SourceMetadata {
  version: string;
  /** The git commit, when built from a checkout. */
  revision: string | undefined;
  /** Seconds since 1970. */
  epoch: number;
}

export async function chartAppVersion(repositoryRoot: string): Promise<string> {
  const chart = await readFile(join(repositoryRoot, chartFile), "utf8");
  const version = /^appVersion:\s*"?([^"\s]+)"?\s*$/m.exec(chart)?.[1];
  if (version === undefined) throw new Error(`${chartFile} has no appVersion`);
  return version;
}

function parseEpoch(text: string, where: string): number {
  if (!/^\d{1,12}$/.test(text.trim())) {
    throw new Error(`${where} must be whole seconds since 1970, got ${JSON.stringify(text)}`);
  }
  return Number(text.trim());
}

async function git(repositoryRoot: string, args: string[]): Promise<string | undefined> {
  try {
    return (await runProgramText("git", args, { cwd: repositoryRoot })).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * HEAD's commit, with "-dirty" when a tracked file differs from it (as `git describe --dirty`).
 * Untracked files do not count: tools write short-lived ones into the tree (tsup's
 * `tsup.config.bundled_*.mjs` while any workspace builds), and a build next to them would be
 * called dirty or not by chance. No optional locks: reading must not take the index lock.
 */
async function gitRevision(repositoryRoot: string): Promise<string | undefined> {
  const commit = await git(repositoryRoot, ["rev-parse", "HEAD"]);
  if (commit === undefined) return undefined;
  const changes = await git(repositoryRoot, [
    "--no-optional-locks",
    "status",
    "--porcelain",
    "--untracked-files=no",
  ]);
  return changes === undefined ? commit : `${commit}-dirty`;
}

export async function readSourceMetadata(options: {
  repositoryRoot: string;
  version?: string;
  revision?: string;
  sourceDateEpoch?: number;
  env?: NodeJS.ProcessEnv;
}): Promise<SourceMetadata> {
  const env = options.env ?? process.env;
  const version = options.version ?? (await chartAppVersion(options.repositoryRoot));
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(version)) {
    throw new Error(`version "${version}" cannot be an image tag`);
  }
  const revision = options.revision ?? (await gitRevision(options.repositoryRoot));
  let epoch = options.sourceDateEpoch;
  if (epoch === undefined && env.SOURCE_DATE_EPOCH !== undefined && env.SOURCE_DATE_EPOCH !== "") {
    epoch = parseEpoch(env.SOURCE_DATE_EPOCH, "SOURCE_DATE_EPOCH");
  }
  if (epoch === undefined) {
    const commitTime = await git(options.repositoryRoot, ["log", "-1", "--format=%ct"]);
    epoch = commitTime === undefined ? 0 : parseEpoch(commitTime, "the commit time");
  }
  return { version, revision, epoch };
}

export function isoTime(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(".000Z", "Z");
}
