// Gets every input the lock names, for the platforms being built: Node's tarball per platform and
// the Debian packages per platform, from the cache or the registries, each checked against the lock.
import { debianPackageNames } from "../layers/base-layer.js";
import { type ImagePlatform, imagePlatforms, platformNames } from "../platforms.js";
import {
  createDebianArchive,
  type DebianArchive,
  DebianVersionGoneError,
  debianControl,
  packageKey,
  sha256OfFile,
} from "./debian-archive.js";
import type { ImageInputsLock, LockedDebianPackage } from "./image-inputs-lock.js";
import { fetchNodeTarball, registryIntegrity } from "./node-tarball.js";

export interface DebianPackageFile extends LockedDebianPackage {
  path: string;
  /** The control file, for the image's dpkg status and the SBOM. */
  control: string;
}

export interface PlatformInputs {
  platform: ImagePlatform;
  nodeVersion: string;
  nodePackage: string;
  nodeTarball: Buffer;
  debianPackages: DebianPackageFile[];
}

export interface ResolveInputsOptions {
  lock: ImageInputsLock;
  platforms: readonly ImagePlatform[];
  cacheDirectory: string;
  /**
   * What to do when a locked Debian version is gone from the archive (Debian replaces a version
   * when it ships a security update): "fail" (releases), or "use-current" (take the archive's
   * version, warn, and say to update the lock).
   */
  onDebianVersionGone: "fail" | "use-current";
  log?: (message: string) => void;
}

function debianArchiveFor(options: {
  lock: ImageInputsLock;
  cacheDirectory: string;
  log?: (message: string) => void;
}): DebianArchive {
  return createDebianArchive({
    release: options.lock.debian.release,
    architectures: imagePlatforms.map((platform) => platformNames[platform].debianArchitecture),
    cacheDirectory: options.cacheDirectory,
    ...(options.log ? { log: options.log } : {}),
  });
}

/**
 * Downloads the locked packages. A version the archive no longer has is looked for again after
 * an `apt-get update`; then it fails the build, or is replaced by the archive's current one.
 */
async function downloadLocked(
  archive: DebianArchive,
  locked: readonly LockedDebianPackage[],
  options: ResolveInputsOptions,
): Promise<DebianPackageFile[]> {
  const wanted = locked.map((entry) => ({ ...entry }));
  let refreshed = false;
  for (;;) {
    try {
      const paths = await archive.download(wanted);
      const files: DebianPackageFile[] = [];
      for (const [index, entry] of wanted.entries()) {
        const path = paths[index] as string;
        const sha256 = await sha256OfFile(path);
        const lockedEntry = locked[index] as LockedDebianPackage;
        if (entry.version === lockedEntry.version && sha256 !== lockedEntry.sha256) {
          throw new Error(
            `${path}: sha256 ${sha256} is not the locked ${lockedEntry.sha256} of ${entry.name} ${entry.version}`,
          );
        }
        files.push({ ...entry, sha256, path, control: await debianControl(path) });
      }
      return files;
    } catch (error) {
      if (!(error instanceof DebianVersionGoneError)) throw error;
      if (!refreshed) {
        refreshed = true;
        await archive.refresh();
        continue;
      }
      if (options.onDebianVersionGone === "fail") {
        throw new Error(
          `${error.message}: run \`npm run image -- --update-lock\` and commit the lock`,
        );
      }
      const gone = wanted.find(
        (entry) => entry.name === error.packageName && entry.architecture === error.architecture,
      );
      const request = { name: error.packageName, architecture: error.architecture };
      const current = (await archive.candidateVersions([request])).get(packageKey(request));
      if (gone === undefined || current === undefined || current === gone.version) throw error;
      options.log?.(
        `warning: ${error.message}; building with ${current}. Run \`npm run image -- --update-lock\` and commit the lock.`,
      );
      gone.version = current;
    }
  }
}

export async function resolveInputs(options: ResolveInputsOptions): Promise<PlatformInputs[]> {
  const archive = debianArchiveFor(options);
  if (!archive.hasLists()) await archive.refresh();
  const result: PlatformInputs[] = [];
  for (const platform of options.platforms) {
    const node = options.lock.node.platforms[platform];
    const nodeTarball = await fetchNodeTarball({
      name: node.package,
      version: options.lock.node.version,
      integrity: node.integrity,
      cacheDirectory: options.cacheDirectory,
      ...(options.log ? { log: options.log } : {}),
    });
    const debianPackages = await downloadLocked(
      archive,
      options.lock.debian.platforms[platform],
      options,
    );
    result.push({
      platform,
      nodeVersion: options.lock.node.version,
      nodePackage: node.package,
      nodeTarball,
      debianPackages,
    });
  }
  return result;
}

/**
 * A new lock: Node `nodeVersion` (the version the project tests with) and the archive's
 * current version of every Debian package, downloaded and hashed.
 */
export async function updatedLock(options: {
  lock: ImageInputsLock;
  nodeVersion: string;
  cacheDirectory: string;
  log?: (message: string) => void;
}): Promise<ImageInputsLock> {
  const archive = debianArchiveFor(options);
  await archive.refresh();
  const nodePlatforms = {} as ImageInputsLock["node"]["platforms"];
  const debianPlatforms = {} as ImageInputsLock["debian"]["platforms"];
  for (const platform of imagePlatforms) {
    const names = platformNames[platform];
    nodePlatforms[platform] = {
      package: names.nodePackage,
      integrity: await registryIntegrity(names.nodePackage, options.nodeVersion),
    };
    const requests = debianPackageNames.map(({ name, architectureIndependent }) => ({
      name,
      architecture: architectureIndependent ? "all" : names.debianArchitecture,
    }));
    const candidates = await archive.candidateVersions(requests);
    const wanted = requests.map((request) => {
      const version = candidates.get(packageKey(request));
      if (version === undefined) {
        throw new Error(`Debian ${options.lock.debian.release} has no ${packageKey(request)}`);
      }
      return { ...request, version };
    });
    const paths = await archive.download(wanted);
    const packages: LockedDebianPackage[] = [];
    for (const [index, entry] of wanted.entries()) {
      packages.push({ ...entry, sha256: await sha256OfFile(paths[index] as string) });
    }
    debianPlatforms[platform] = packages;
  }
  return {
    node: { version: options.nodeVersion, platforms: nodePlatforms },
    debian: { release: options.lock.debian.release, platforms: debianPlatforms },
  };
}
