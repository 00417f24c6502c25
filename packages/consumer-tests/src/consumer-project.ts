// A fresh project that installs the packed tarballs, as another project would, and compiles
// TypeScript with the settings a Node project must set and nothing else (no skipLibCheck,
// no `types`), so what TypeScript loads by default is what the packages must work with.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { PackedPackage } from "./packed-packages.js";

const run = promisify(execFile);

export type ModuleKind = "module" | "commonjs";

export interface ConsumerProject {
  directory: string;
  kind: ModuleKind;
  /** Writes `src/<fileName>`; compiled to `dist/<name>.js`. */
  addSource(fileName: string, code: string): void;
  /** Runs `tsc -p` of the given TypeScript package (its bin/tsc) and returns its output. */
  compile(
    tscPath: string,
    extraArgs?: string[],
    signal?: AbortSignal,
  ): Promise<{ ok: boolean; output: string }>;
}

export async function createConsumerProject(
  directory: string,
  kind: ModuleKind,
  packages: PackedPackage[],
  extraDependencies: Record<string, string> = {},
): Promise<ConsumerProject> {
  mkdirSync(join(directory, "src"), { recursive: true });
  const dependencies: Record<string, string> = { ...extraDependencies };
  for (const packed of packages) dependencies[packed.name] = `file:${packed.tarball}`;
  // The packages depend on each other (on @regmirror/core) by version; a release publishes them
  // together. Here the tarballs stand in for the registry, for those dependencies too.
  const overrides = Object.fromEntries(
    packages.map((packed) => [packed.name, `file:${packed.tarball}`]),
  );
  const manifest = {
    name: `consumer-${kind}`,
    private: true,
    type: kind,
    dependencies,
    pnpm: { overrides },
  };
  writeFileSync(join(directory, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    join(directory, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          module: "nodenext",
          target: "es2022",
          strict: true,
          rootDir: "src",
          outDir: "dist",
        },
        include: ["src"],
      },
      null,
      2,
    )}\n`,
  );
  // Outside the repository's workspace; --prefer-offline takes what the pnpm store has. A fresh
  // project has no lockfile, which pnpm refuses under CI=true unless told.
  const install = [
    "install",
    "--prefer-offline",
    "--ignore-workspace",
    "--no-frozen-lockfile",
    "--reporter=silent",
  ];
  await run("pnpm", install, {
    cwd: directory,
    maxBuffer: 16 * 1024 * 1024,
  });
  return {
    directory,
    kind,
    addSource(fileName, code) {
      writeFileSync(join(directory, "src", fileName), code);
    },
    async compile(tscPath, extraArgs = [], signal) {
      try {
        const args = [tscPath, "-p", directory, ...extraArgs];
        const { stdout, stderr } = await run(process.execPath, args, {
          cwd: directory,
          maxBuffer: 16 * 1024 * 1024,
          ...(signal ? { signal } : {}),
        });
        return { ok: true, output: stdout + stderr };
      } catch (error) {
        const failed = error as { stdout?: string; stderr?: string; message: string };
        return { ok: false, output: `${failed.stdout ?? ""}${failed.stderr ?? failed.message}` };
      }
    },
  };
}
