// Packs the published workspaces the way `pnpm publish` would (publishConfig applied,
// workspace: ranges replaced) and lists them with their tarballs.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const repositoryRoot = resolve(import.meta.dirname, "..", "..", "..");

export interface PackedPackage {
  name: string;
  directory: string;
  tarball: string;
}

/** Every workspace under packages/ that is not private: what a release publishes. */
export function publishedWorkspaces(): Array<{ name: string; directory: string }> {
  const packages = join(repositoryRoot, "packages");
  return readdirSync(packages, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(packages, entry.name))
    .flatMap((directory) => {
      const manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as {
        name: string;
        private?: boolean;
      };
      return manifest.private ? [] : [{ name: manifest.name, directory }];
    });
}

export function packWorkspace(
  workspace: { name: string; directory: string },
  destination: string,
): PackedPackage {
  const output = execFileSync("pnpm", ["pack", "--json", "--pack-destination", destination], {
    cwd: workspace.directory,
    encoding: "utf8",
  });
  const { filename } = JSON.parse(output) as { filename: string };
  return { ...workspace, tarball: resolve(destination, filename) };
}
