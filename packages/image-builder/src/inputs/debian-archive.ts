// Debian packages for any architecture through apt-get with a private state directory: its own
// sources list (deb.debian.org, signed by the Debian archive keyring), its own package lists and
// download cache. The machine's dpkg architectures and apt state are left alone, so no
// `dpkg --add-architecture` and no root are needed.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ProgramError, runProgram, runProgramText } from "./run-program.js";

export const debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

export interface DebianPackageRequest {
  name: string;
  /** Debian's architecture name, or "all". */
  architecture: string;
}

export interface DebianArchive {
  /** The versions apt would install now, by `name:architecture` (undefined when it has none). */
  candidateVersions(
    packages: readonly DebianPackageRequest[],
  ): Promise<Map<string, string | undefined>>;
  /** Downloads exact versions into the cache (one apt-get for all that are missing); returns the .deb paths. */
  download(packages: readonly (DebianPackageRequest & { version: string })[]): Promise<string[]>;
  /** `apt-get update` of the private lists. */
  refresh(): Promise<void>;
  /** True once the private lists exist. */
  hasLists(): boolean;
}

export function packageKey(request: DebianPackageRequest): string {
  return `${request.name}:${request.architecture}`;
}

export class DebianVersionGoneError extends Error {
  constructor(
    readonly packageName: string,
    readonly architecture: string,
    readonly version: string,
  ) {
    super(
      `Debian package ${packageName}:${architecture} ${version} is not in the archive any more (a newer one replaced it)`,
    );
    this.name = "DebianVersionGoneError";
  }
}

export function createDebianArchive(options: {
  release: string;
  architectures: readonly string[];
  cacheDirectory: string;
  log?: (message: string) => void;
}): DebianArchive {
  const root = join(options.cacheDirectory, `apt-${options.release}`);
  const debDirectory = join(options.cacheDirectory, "debs");
  const sourcesFile = join(root, "sources.list");
  const architectures = [...options.architectures].sort().join(",");
  const aptOptions = [
    `Dir::Etc::SourceList=${sourcesFile}`,
    "Dir::Etc::SourceParts=/dev/null",
    "Dir::Etc::Preferences=/dev/null",
    "Dir::Etc::PreferencesParts=/dev/null",
    `Dir::State=${join(root, "state")}`,
    `Dir::Cache=${join(root, "cache")}`,
    "Dir::State::status=/dev/null",
    ...options.architectures.map((architecture) => `APT::Architectures::=${architecture}`),
    // As root apt drops to the _apt user, who cannot write to a cache under /root.
    "APT::Sandbox::User=root",
    "Debug::NoLocking=1",
    "Acquire::Languages=none",
  ].flatMap((option) => ["-o", option]);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" };

  async function prepare(): Promise<void> {
    if (!existsSync(debianKeyring)) {
      throw new Error(
        `${debianKeyring} is missing: install the debian-archive-keyring package (apt-get install debian-archive-keyring)`,
      );
    }
    await mkdir(join(root, "state", "lists", "partial"), { recursive: true });
    await mkdir(join(root, "cache", "archives", "partial"), { recursive: true });
    await mkdir(debDirectory, { recursive: true });
    const source = (path: string, suite: string) =>
      `deb [arch=${architectures} signed-by=${debianKeyring}] http://deb.debian.org/${path} ${suite} main\n`;
    await writeFile(
      sourcesFile,
      source("debian", options.release) +
        source("debian", `${options.release}-updates`) +
        source("debian-security", `${options.release}-security`),
    );
  }

  const apt = (program: string, args: string[], cwd?: string) =>
    runProgramText(program, [...aptOptions, ...args], { env, ...(cwd ? { cwd } : {}) });

  return {
    hasLists: () => existsSync(sourcesFile) && existsSync(join(root, "state", "lists")),

    async refresh() {
      await prepare();
      options.log?.(`apt-get update (Debian ${options.release}: ${architectures})`);
      await apt("apt-get", ["update", "-qq"]);
    },

    async candidateVersions(packages) {
      const output = await apt("apt-cache", ["policy", ...packages.map(packageKey)]);
      // One block per package: "name:arch:" (or "name:" for the native architecture), then fields.
      const candidates = new Map<string, string | undefined>();
      const blocks = output.split(/^(?=\S)/m);
      for (const request of packages) {
        const block = blocks.find(
          (text) =>
            text.startsWith(`${packageKey(request)}:`) || text.startsWith(`${request.name}:\n`),
        );
        const candidate = block === undefined ? undefined : /Candidate:\s*(\S+)/.exec(block)?.[1];
        candidates.set(packageKey(request), candidate === "(none)" ? undefined : candidate);
      }
      return candidates;
    },

    async download(packages) {
      const targets = packages.map((request) =>
        join(
          debDirectory,
          `${request.architecture}-${request.name}_${request.version.replace(/:/g, "%3a")}.deb`,
        ),
      );
      const missing = packages.filter((_, index) => !existsSync(targets[index] as string));
      if (missing.length === 0) return targets;
      const workDirectory = join(debDirectory, `.download-${process.pid}`);
      await rm(workDirectory, { recursive: true, force: true });
      await mkdir(workDirectory, { recursive: true });
      try {
        const specs = missing.map((request) => `${packageKey(request)}=${request.version}`);
        options.log?.(`apt-get download ${specs.join(" ")}`);
        try {
          await apt("apt-get", ["download", "-qq", ...specs], workDirectory);
        } catch (error) {
          const gone =
            error instanceof ProgramError
              ? /Version '([^']+)' for '([^':]+):([^']+)' was not found/.exec(error.stderr)
              : null;
          if (gone)
            throw new DebianVersionGoneError(
              gone[2] as string,
              gone[3] as string,
              gone[1] as string,
            );
          throw error;
        }
        const files = await readdir(workDirectory);
        for (const [index, request] of packages.entries()) {
          if (!missing.includes(request)) continue;
          // apt-get names files name_version_arch.deb, with ":" in the version as "%3a".
          const expected = `${request.name}_${request.version.replace(/:/g, "%3a")}_${request.architecture}.deb`;
          if (!files.includes(expected)) throw new Error(`apt-get download wrote no ${expected}`);
          await rename(join(workDirectory, expected), targets[index] as string);
        }
        return targets;
      } finally {
        await rm(workDirectory, { recursive: true, force: true });
      }
    },
  };
}

export async function sha256OfFile(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** The package's files (`dpkg-deb --fsys-tarfile`: its data as an uncompressed tar). */
export function debianDataTar(debPath: string): Promise<Buffer> {
  return runProgram("dpkg-deb", ["--fsys-tarfile", debPath]);
}

/** The package's control file (Package, Version, Architecture, ...). */
export function debianControl(debPath: string): Promise<string> {
  return runProgramText("dpkg-deb", ["--field", debPath]);
}
