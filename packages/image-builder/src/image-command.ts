// The `npm run image` command: parses its options, builds the images (and with --push pushes them),
// and prints what it made. Output and environment come in through `io` (main.ts gives the process's).
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import {
  builderPackageDirectory,
  buildImages,
  defaultRepository,
  readCheckedLock,
  repositoryRoot,
  testedNodeVersion,
} from "./build-images.js";
import { type ImageName, imageNames } from "./image-definitions.js";
import { imageInputsDirectory } from "./inputs/cache-directory.js";
import {
  lockFilePath,
  readImageInputsLock,
  writeImageInputsLock,
} from "./inputs/image-inputs-lock.js";
import { updatedLock } from "./inputs/resolve-inputs.js";
import { parsePlatforms } from "./platforms.js";
import { pushImages } from "./push-images.js";

const usage = `Usage: npm run image -- [options]     (or: pnpm image [options])

Builds the regmirror-cache and regmirror-operator container images without a container engine:
linux/amd64 and linux/arm64 in one OCI image index each, from Node's npm tarballs, Debian's
shared libraries and CA certificates (image-inputs.lock.json) and the apps' bundles, dated
SOURCE_DATE_EPOCH (default: the commit's time) so a rebuild gives the same digests.

Writes into the output directory, per image:
  <name>/            OCI image layout
  <name>.tar         the layout as a tar: ctr images import, docker load (Docker 25+),
                     podman load, skopeo copy oci-archive:<name>.tar docker://...
  <name>.spdx.json   the SBOM (SPDX 2.3): npm and Debian packages inside

Options:
  --image NAME        only this image (${imageNames.join(", ")}); repeatable
  --platform LIST     comma-separated, default linux/amd64,linux/arm64
  --output DIR        default dist/images
  --repository REPO   the images' names and where --push sends them (default ${defaultRepository})
  --version VERSION   the image version and tag (default: the Helm chart's appVersion)
  --push              push the images and their SBOMs to --repository (credentials from
                      $DOCKER_CONFIG/config.json or ~/.docker/config.json, as docker login writes)
  --tag TAG           push under this tag instead of the version; repeatable
  --insecure          push over plain HTTP (a registry on loopback)
  --locked            fail when a locked Debian package is gone from the archive (releases);
                      without it the build warns and takes the archive's current version
  --update-lock       record the archive's current Debian packages and the tested Node in
                      image-inputs.lock.json (then build as usual)
  -h, --help          this text`;

export interface CommandIo {
  writeOut(text: string): void;
  writeError(text: string): void;
  env: NodeJS.ProcessEnv;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function dockerConfigPath(env: NodeJS.ProcessEnv): string | undefined {
  const path = join(env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json");
  return existsSync(path) ? path : undefined;
}

/** Runs `npm run image -- ARGV`; resolves with the exit code (0 done, 1 failed, 2 bad command line). */
export async function runImageCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const started = Date.now();
  const log = (message: string) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(4, " ");
    io.writeOut(`[image ${seconds}s] ${message}\n`);
  };
  try {
    return await imageCommand(argv, io, log);
  } catch (error) {
    io.writeError(`image: ${(error as Error).message}\n`);
    return 1;
  }
}

function parseImageArguments(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      image: { type: "string", multiple: true },
      platform: { type: "string" },
      output: { type: "string" },
      repository: { type: "string" },
      version: { type: "string" },
      push: { type: "boolean", default: false },
      tag: { type: "string", multiple: true },
      insecure: { type: "boolean", default: false },
      locked: { type: "boolean", default: false },
      "update-lock": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  for (const image of values.image ?? []) {
    if (!(imageNames as readonly string[]).includes(image)) {
      throw new Error(`unknown image "${image}": use ${imageNames.join(" or ")}`);
    }
  }
  if ((values.tag !== undefined || values.insecure) && !values.push) {
    throw new Error("--tag and --insecure go with --push");
  }
  return {
    ...values,
    images: values.image as ImageName[] | undefined,
    platforms: values.platform === undefined ? undefined : parsePlatforms(values.platform),
  };
}

async function imageCommand(
  argv: readonly string[],
  io: CommandIo,
  log: (message: string) => void,
): Promise<number> {
  let values: ReturnType<typeof parseImageArguments>;
  try {
    values = parseImageArguments(argv);
  } catch (error) {
    io.writeError(`image: ${(error as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    io.writeOut(`${usage}\n`);
    return 0;
  }

  if (values["update-lock"]) {
    const path = lockFilePath(builderPackageDirectory);
    const lock = await updatedLock({
      lock: await readImageInputsLock(path),
      nodeVersion: await testedNodeVersion(),
      cacheDirectory: imageInputsDirectory(io.env),
      log,
    });
    await writeImageInputsLock(path, lock);
    log(`wrote ${relative(repositoryRoot, path)}`);
  } else {
    await readCheckedLock();
  }

  const result = await buildImages({
    ...(values.images ? { images: values.images } : {}),
    ...(values.platforms ? { platforms: values.platforms } : {}),
    ...(values.output ? { outputDirectory: values.output } : {}),
    ...(values.repository ? { repository: values.repository } : {}),
    ...(values.version ? { version: values.version } : {}),
    onDebianVersionGone: values.locked ? "fail" : "use-current",
    cacheDirectory: imageInputsDirectory(io.env),
    log,
  });
  for (const image of result.images) {
    io.writeOut(`\n${image.reference}  ${image.index.digest}\n`);
    for (const platform of image.platforms) {
      io.writeOut(
        `  ${platform.platform.padEnd(12)} ${platform.manifest.digest}  ${megabytes(platform.compressedSize)} compressed\n`,
      );
    }
    io.writeOut(`  ${relative(repositoryRoot, image.archivePath)}  ${image.archiveDigest}\n`);
    io.writeOut(
      `  ${relative(repositoryRoot, image.sbomPath)} (SBOM ${image.sbom.manifest.digest})\n`,
    );
  }
  if (values.push) {
    const dockerConfig = dockerConfigPath(io.env);
    const pushed = await pushImages(result.images, {
      repository: values.repository ?? defaultRepository,
      ...(values.tag ? { tags: values.tag } : {}),
      insecure: values.insecure,
      ...(dockerConfig ? { dockerConfig } : {}),
      log,
    });
    for (const image of pushed) {
      io.writeOut(`pushed ${image.reference} as ${image.tags.join(", ")}\n`);
    }
  }
  return 0;
}
