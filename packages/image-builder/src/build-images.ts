// buildImages(): the regmirror images, every platform, as OCI layouts and tars, with an SBOM each.
// Layers: Debian libraries and CA certificates, then Node, then the app's bundle; the first two
// are the same blobs in both images.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { OCI_INDEX } from "@regmirror/oci-distribution";
import { writeBuildRecord } from "./build-record.js";
import {
  type ImageDefinition,
  type ImageName,
  imageDefinitions,
  imageNames,
} from "./image-definitions.js";
import { imageInputsDirectory } from "./inputs/cache-directory.js";
import {
  type ImageInputsLock,
  type LockedDebianPackage,
  lockFilePath,
  readImageInputsLock,
} from "./inputs/image-inputs-lock.js";
import { resolveInputs } from "./inputs/resolve-inputs.js";
import { type AppBundle, buildAppBundle } from "./layers/app-bundle.js";
import { baseLayerEntries, nonRootId } from "./layers/base-layer.js";
import { nodeLayerEntries, nodePath } from "./layers/node-layer.js";
import {
  type Blob,
  type ContainerSettings,
  descriptorOf,
  imageConfig,
  imageIndex,
  imageManifest,
  type NamedLayer,
} from "./oci/image-documents.js";
import { type LayerBlob, writeLayerBlob } from "./oci/layer-blob.js";
import {
  blobDirectoryOf,
  createLayoutDirectory,
  shareBlob,
  writeBlob,
  writeLayoutArchive,
  writeLayoutIndex,
} from "./oci/oci-layout.js";
import { type ImagePlatform, imagePlatforms } from "./platforms.js";
import { type SbomArtifact, sbomArtifact } from "./sbom/sbom-artifact.js";
import { spdxDocument } from "./sbom/spdx-document.js";
import {
  isoTime,
  readSourceMetadata,
  type SourceMetadata,
  sourceRepositoryUrl,
} from "./source-metadata.js";
import { fileEntry, type LayerEntry } from "./tar/layer-entry.js";

/** packages/image-builder, from src/ or dist/. */
export const builderPackageDirectory = resolve(import.meta.dirname, "..");
export const repositoryRoot = resolve(builderPackageDirectory, "..", "..");

/** Where the release workflow pushes, and the names the layouts and tars carry. */
export const defaultRepository = "ghcr.io/regmirror";

export interface BuildImagesOptions {
  images?: readonly ImageName[];
  platforms?: readonly ImagePlatform[];
  /** Default `<repository root>/dist/images`. */
  outputDirectory?: string;
  /** Registry and namespace of the image names, default ghcr.io/regmirror. */
  repository?: string;
  /** Default: the Helm chart's appVersion. */
  version?: string;
  /** Default: `git rev-parse HEAD`. */
  revision?: string;
  /** Default: $SOURCE_DATE_EPOCH, else the commit's time. */
  sourceDateEpoch?: number;
  /** See ResolveInputsOptions; default "use-current" (warns), releases use "fail". */
  onDebianVersionGone?: "fail" | "use-current";
  /** Where downloads are kept; default `<cache>/image-inputs`. */
  cacheDirectory?: string;
  /** Progress lines. */
  log?: (message: string) => void;
}

export interface BuiltPlatformImage {
  platform: ImagePlatform;
  manifest: Blob;
  config: Blob;
  layers: LayerBlob[];
  /** Bytes a pull downloads: config, manifest and compressed layers. */
  compressedSize: number;
}

export interface BuiltImage {
  name: ImageName;
  /** `<repository>/<name>:<version>`: the name in the layout and the tar. */
  reference: string;
  tag: string;
  layoutDirectory: string;
  archivePath: string;
  /** sha256 of the tar. */
  archiveDigest: string;
  index: Blob;
  platforms: BuiltPlatformImage[];
  sbom: SbomArtifact;
  sbomPath: string;
}

export interface BuildResult {
  images: BuiltImage[];
  source: SourceMetadata;
  /** What went in, per platform (the Debian versions may differ from the lock: see the log). */
  inputs: {
    platform: ImagePlatform;
    nodePackage: string;
    nodeVersion: string;
    debianPackages: LockedDebianPackage[];
  }[];
}

/** The root package.json's `node` devDependency: the Node the project tests with. */
export async function testedNodeVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(repositoryRoot, "package.json"), "utf8")) as {
    devDependencies?: Record<string, string>;
  };
  const version = manifest.devDependencies?.node;
  if (version === undefined || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error("the root package.json pins no exact `node` devDependency");
  }
  return version;
}

export async function readCheckedLock(): Promise<ImageInputsLock> {
  const path = lockFilePath(builderPackageDirectory);
  const lock = await readImageInputsLock(path);
  const tested = await testedNodeVersion();
  if (lock.node.version !== tested) {
    throw new Error(
      `${path} has Node ${lock.node.version} but the project tests with ${tested} (root package.json): run \`npm run image -- --update-lock\``,
    );
  }
  return lock;
}

function containerSettings(
  definition: ImageDefinition,
  labels: Record<string, string>,
): ContainerSettings {
  return {
    user: `${nonRootId}:${nonRootId}`,
    environment: [
      "PATH=/usr/local/bin",
      "NODE_ENV=production",
      // OpenSSL's (and Node's --use-openssl-ca / --use-system-ca) view of the system CA store.
      "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
      ...Object.entries(definition.environment).map(([name, value]) => `${name}=${value}`),
    ],
    entrypoint: [nodePath, `${definition.installDirectory}/main.js`],
    command: definition.defaultArguments,
    workingDirectory: definition.workingDirectory,
    exposedPorts: definition.exposedPorts,
    labels,
  };
}

function appLayerEntries(
  definition: ImageDefinition,
  bundle: AppBundle,
  version: string,
): LayerEntry[] {
  const directory = definition.installDirectory.slice(1);
  const packageJson = { name: definition.name, version, type: "module", private: true };
  return [
    ...definition.directories,
    fileEntry(`${directory}/package.json`, `${JSON.stringify(packageJson, null, 2)}\n`),
    ...[...bundle.files].map(([name, content]) => fileEntry(`${directory}/${name}`, content)),
  ];
}

function openContainerLabels(
  definition: ImageDefinition,
  source: SourceMetadata,
): Record<string, string> {
  return {
    "org.opencontainers.image.created": isoTime(source.epoch),
    "org.opencontainers.image.description": definition.description,
    "org.opencontainers.image.licenses": "Apache-2.0",
    ...(source.revision ? { "org.opencontainers.image.revision": source.revision } : {}),
    "org.opencontainers.image.source": sourceRepositoryUrl,
    "org.opencontainers.image.title": definition.title,
    "org.opencontainers.image.version": source.version,
  };
}

export async function buildImages(options: BuildImagesOptions = {}): Promise<BuildResult> {
  const log = options.log ?? (() => undefined);
  const names = options.images ?? imageNames;
  const platforms = options.platforms ?? imagePlatforms;
  const outputDirectory = resolve(
    options.outputDirectory ?? join(repositoryRoot, "dist", "images"),
  );
  const repository = options.repository ?? defaultRepository;
  const lock = await readCheckedLock();
  const source = await readSourceMetadata({
    repositoryRoot,
    ...(options.version !== undefined ? { version: options.version } : {}),
    ...(options.revision !== undefined ? { revision: options.revision } : {}),
    ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
  });
  const created = isoTime(source.epoch);
  log(
    `building ${names.join(", ")} ${source.version} for ${platforms.join(", ")} (SOURCE_DATE_EPOCH=${source.epoch})`,
  );

  const inputs = await resolveInputs({
    lock,
    platforms,
    cacheDirectory: options.cacheDirectory ?? imageInputsDirectory(),
    onDebianVersionGone: options.onDebianVersionGone ?? "use-current",
    log,
  });

  const bundles = new Map<ImageName, AppBundle>();
  for (const name of names) {
    log(`bundling ${imageDefinitions[name].appDirectory} (tsup)`);
    bundles.set(
      name,
      await buildAppBundle({
        appDirectory: join(repositoryRoot, imageDefinitions[name].appDirectory),
        repositoryRoot,
        entry: imageDefinitions[name].entry,
      }),
    );
  }

  const layouts = new Map(names.map((name) => [name, join(outputDirectory, name)]));
  for (const layout of layouts.values()) {
    await rm(layout, { recursive: true, force: true });
    await createLayoutDirectory(layout);
  }
  const sharedLayout = join(outputDirectory, `.shared-layers-${process.pid}`);
  await rm(sharedLayout, { recursive: true, force: true });
  await createLayoutDirectory(sharedLayout);

  const perImage = new Map<ImageName, BuiltPlatformImage[]>(names.map((name) => [name, []]));
  try {
    for (const platformInputs of inputs) {
      const { platform } = platformInputs;
      log(`${platform}: Debian libraries and CA certificates layer`);
      const base = await writeLayerBlob(
        await baseLayerEntries(platformInputs.debianPackages, lock.debian.release),
        source.epoch,
        blobDirectoryOf(sharedLayout),
      );
      log(`${platform}: Node ${platformInputs.nodeVersion} layer`);
      const node = await writeLayerBlob(
        nodeLayerEntries(
          platformInputs.nodeTarball,
          `${platformInputs.nodePackage}@${platformInputs.nodeVersion}`,
        ),
        source.epoch,
        blobDirectoryOf(sharedLayout),
      );
      for (const name of names) {
        const definition = imageDefinitions[name];
        const layout = layouts.get(name) as string;
        const bundle = bundles.get(name) as AppBundle;
        const app = await writeLayerBlob(
          appLayerEntries(definition, bundle, source.version),
          source.epoch,
          blobDirectoryOf(layout),
        );
        await shareBlob(sharedLayout, layout, base.digest);
        await shareBlob(sharedLayout, layout, node.digest);
        const debianList = platformInputs.debianPackages
          .map((deb) => `${deb.name}=${deb.version}`)
          .join(" ");
        const layers: NamedLayer[] = [
          {
            blob: base,
            createdBy: `regmirror-image-builder: Debian ${lock.debian.release} ${debianList}`,
          },
          {
            blob: node,
            createdBy: `regmirror-image-builder: ${platformInputs.nodePackage}@${platformInputs.nodeVersion} bin/node`,
          },
          {
            blob: app,
            createdBy: `regmirror-image-builder: ${definition.appDirectory} bundle (tsup)`,
          },
        ];
        const labels = openContainerLabels(definition, source);
        const config = imageConfig({
          platform,
          created,
          settings: containerSettings(definition, labels),
          layers,
        });
        const manifest = imageManifest({ config, layers, annotations: labels });
        await writeBlob(layout, config);
        await writeBlob(layout, manifest);
        perImage.get(name)?.push({
          platform,
          manifest,
          config,
          layers: layers.map((layer) => layer.blob),
          compressedSize:
            manifest.size + config.size + layers.reduce((sum, layer) => sum + layer.blob.size, 0),
        });
      }
    }
  } finally {
    await rm(sharedLayout, { recursive: true, force: true });
  }

  const images: BuiltImage[] = [];
  for (const name of names) {
    const definition = imageDefinitions[name];
    const layout = layouts.get(name) as string;
    const built = perImage.get(name) as BuiltPlatformImage[];
    const labels = openContainerLabels(definition, source);
    const index = imageIndex({
      manifests: built.map(({ platform, manifest }) => ({ platform, manifest })),
      annotations: labels,
    });
    await writeBlob(layout, index);
    const bundle = bundles.get(name) as AppBundle;
    const sbom = sbomArtifact({
      document: spdxDocument({
        imageName: name,
        version: source.version,
        revision: source.revision,
        epoch: source.epoch,
        indexDigest: index.digest,
        npmPackages: bundle.packages,
        platforms: inputs.map((platformInputs) => ({
          platform: platformInputs.platform,
          nodePackage: platformInputs.nodePackage,
          nodeVersion: platformInputs.nodeVersion,
          debianPackages: platformInputs.debianPackages,
        })),
        debianRelease: lock.debian.release,
      }),
      fileName: `${name}.spdx.json`,
      subject: descriptorOf(index),
      created,
    });
    const reference = `${repository}/${name}:${source.version}`;
    await writeLayoutIndex(
      layout,
      { mediaType: OCI_INDEX, digest: index.digest, size: index.size },
      reference,
      source.version,
    );
    const archivePath = join(outputDirectory, `${name}.tar`);
    log(`${name}: writing ${archivePath}`);
    const archiveDigest = await writeLayoutArchive(layout, archivePath, source.epoch);
    const sbomPath = join(outputDirectory, `${name}.spdx.json`);
    await writeFile(sbomPath, sbom.document.bytes);
    images.push({
      name,
      reference,
      tag: source.version,
      layoutDirectory: layout,
      archivePath,
      archiveDigest,
      index,
      platforms: built,
      sbom,
      sbomPath,
    });
  }
  const result: BuildResult = {
    images,
    source,
    inputs: inputs.map((platform) => ({
      platform: platform.platform,
      nodePackage: platform.nodePackage,
      nodeVersion: platform.nodeVersion,
      debianPackages: platform.debianPackages.map(({ name, version, architecture, sha256 }) => ({
        name,
        version,
        architecture,
        sha256,
      })),
    })),
  };
  await writeBuildRecord(outputDirectory, result);
  return result;
}
