// An app's production bundle, made by tsup with the app's own tsup.config.ts (so the image runs
// what `pnpm build` makes): only the executable's entry, no declarations, no source maps, and
// esbuild's metafile, which says which npm packages went into it (for the SBOM).
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { runProgramText } from "../inputs/run-program.js";

export interface BundledPackage {
  name: string;
  version: string;
  /** The SPDX expression of package.json `license`, when it has one. */
  license: string | undefined;
  /** True for this repository's own workspaces. */
  workspace: boolean;
}

export interface AppBundle {
  /** Files of the bundle's directory (`main.js`, chunks), by name. */
  files: Map<string, Buffer>;
  packages: BundledPackage[];
}

interface Metafile {
  inputs: Record<string, unknown>;
}

/** `.../node_modules/@scope/name/lib/x.js` → `.../node_modules/@scope/name`; else undefined. */
function packageRootOfInput(path: string): string | undefined {
  const parts = path.split("/");
  const last = parts.lastIndexOf("node_modules");
  if (last === -1) return undefined;
  const scoped = parts[last + 1]?.startsWith("@") === true;
  return parts.slice(0, last + (scoped ? 3 : 2)).join("/");
}

/** The workspace package a source file belongs to: the nearest directory with a package.json. */
function workspaceRootOf(file: string, repositoryRoot: string): string | undefined {
  let directory = dirname(file);
  while (directory.startsWith(repositoryRoot + sep)) {
    if (existsSync(join(directory, "package.json"))) return directory;
    directory = dirname(directory);
  }
  return undefined;
}

async function bundledPackages(
  metafile: Metafile,
  appDirectory: string,
  repositoryRoot: string,
): Promise<BundledPackage[]> {
  const roots = new Map<string, boolean>();
  for (const input of Object.keys(metafile.inputs)) {
    const absolute = resolve(appDirectory, input);
    const npmRoot = packageRootOfInput(absolute);
    if (npmRoot !== undefined) roots.set(npmRoot, false);
    else {
      const workspace = workspaceRootOf(absolute, repositoryRoot);
      if (workspace !== undefined) roots.set(workspace, true);
    }
  }
  const packages = new Map<string, BundledPackage>();
  for (const [root, workspace] of roots) {
    const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      name?: string;
      version?: string;
      license?: unknown;
    };
    if (manifest.name === undefined || manifest.version === undefined) continue;
    const license = typeof manifest.license === "string" ? manifest.license : undefined;
    packages.set(`${manifest.name}@${manifest.version}`, {
      name: manifest.name,
      version: manifest.version,
      license,
      workspace,
    });
  }
  return [...packages.values()].sort((a, b) =>
    a.name === b.name ? (a.version < b.version ? -1 : 1) : a.name < b.name ? -1 : 1,
  );
}

/**
 * Runs tsup in the app's directory (tsup reads the working directory for the config, the
 * package.json and the tsconfig) with a config that takes the app's and narrows it.
 */
export async function buildAppBundle(options: {
  appDirectory: string;
  repositoryRoot: string;
  /** The executable's source, relative to the app. */
  entry: string;
}): Promise<AppBundle> {
  const { appDirectory } = options;
  // Under the app's node_modules, so the app config's own `import "tsup"` resolves.
  const workDirectory = join(
    appDirectory,
    "node_modules",
    ".cache",
    `regmirror-image-${process.pid}-${Math.random().toString(36).slice(2)}`,
  );
  const outDirectory = join(workDirectory, "out");
  await mkdir(workDirectory, { recursive: true });
  try {
    const configPath = join(workDirectory, "tsup.image.config.mjs");
    await writeFile(
      configPath,
      [
        `import appConfig from ${JSON.stringify(join(appDirectory, "tsup.config.ts"))};`,
        "const options = Array.isArray(appConfig) ? appConfig[0] : appConfig;",
        "export default {",
        "  ...options,",
        `  entry: { main: ${JSON.stringify(options.entry)} },`,
        `  outDir: ${JSON.stringify(outDirectory)},`,
        "  dts: false,",
        "  sourcemap: false,",
        "  clean: true,",
        "  metafile: true,",
        "  silent: true,",
        "};",
        "",
      ].join("\n"),
    );
    // The repository's tsup (a root devDependency), the one `pnpm build` makes the apps with.
    const tsupCli = join(
      dirname(
        createRequire(join(options.repositoryRoot, "package.json")).resolve("tsup/package.json"),
      ),
      "dist",
      "cli-default.js",
    );
    await runProgramText(process.execPath, [tsupCli, "--config", configPath], {
      cwd: appDirectory,
    });
    const metafile = JSON.parse(
      await readFile(join(outDirectory, "metafile-esm.json"), "utf8"),
    ) as Metafile;
    const files = new Map<string, Buffer>();
    for (const name of (await readdir(outDirectory)).sort()) {
      if (name.endsWith(".js")) files.set(name, await readFile(join(outDirectory, name)));
    }
    if (!files.has("main.js"))
      throw new Error(`tsup made no main.js in ${relative(options.repositoryRoot, appDirectory)}`);
    return {
      files,
      packages: await bundledPackages(metafile, appDirectory, options.repositoryRoot),
    };
  } finally {
    await rm(workDirectory, { recursive: true, force: true });
  }
}
