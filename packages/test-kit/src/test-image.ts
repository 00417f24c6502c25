// Test images built in memory: single or multi-platform, OCI or Docker, deterministic.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  deterministicGzip,
  deterministicTar,
  seededBytes,
  sha256Digest,
} from "./deterministic-bytes.js";
import { TestKitError } from "./errors.js";
import { makeTempDirectory } from "./temp-directory.js";

/** Media types, from the OCI image spec and Docker's image manifest v2 schema 2. */
export const mediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export type ImageFormat = "oci" | "docker";

export interface TestImageOptions {
  /** Same seed and options give the same bytes and digests. */
  seed: string;
  /** Size in bytes of the random file inside each layer (layers are real tar+gzip). Default [1024]. */
  layers?: number[];
  format?: ImageFormat;
  /** More than one platform makes an OCI index (oci) or a manifest list (docker). */
  platforms?: Platform[];
  tag?: string;
  /** Where to write the OCI layout; default a fresh temp directory. */
  layoutDirectory?: string;
  /**
   * Makes the image runnable: a first layer holds this program (mode 0755) at `path`, and the
   * image config runs it with `args` (e.g. Debian's static catatonit with `-P`, which waits for a
   * signal: what a pod's pause container or a small workload needs).
   */
  entrypoint?: { path: string; program: Buffer; args: string[] };
}

export interface BuiltManifest {
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
  platform?: Platform;
  configDigest: string;
  layerDigests: string[];
}

export interface TestImage {
  layoutDirectory: string;
  tag: string;
  /** Digest of the top-level manifest (the index / list when multi-platform). */
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
  /** The image manifests (one per platform). */
  manifests: BuiltManifest[];
  /** Every blob and manifest by digest. */
  blobs: Map<string, Buffer>;
  /**
   * What skopeo copies from: `oci:LAYOUT:TAG`, or for docker format a `dir:` copy (skopeo's
   * oci: transport only resolves tags of OCI media types).
   */
  skopeoSource: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** The platform of this machine in OCI terms, so containerd pulls the built image by default. */
export function hostPlatform(): Platform {
  const architectures: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ppc64: "ppc64le",
    s390x: "s390x",
  };
  return { os: "linux", architecture: architectures[process.arch] ?? process.arch };
}

function platformName(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Builds a deterministic image from a seed and writes it as an OCI image layout. */
export async function buildTestImage(options: TestImageOptions): Promise<TestImage> {
  const format = options.format ?? "oci";
  const layerSizes = options.layers ?? [1024];
  const platforms = options.platforms ?? [hostPlatform()];
  const tag = options.tag ?? "latest";
  if (platforms.length === 0)
    throw new TestKitError("BAD_INPUT", "buildTestImage: platforms must not be empty");
  if (layerSizes.some((size) => !Number.isInteger(size) || size < 0)) {
    throw new TestKitError(
      "BAD_INPUT",
      `buildTestImage: layer sizes must be whole numbers >= 0, got ${JSON.stringify(layerSizes)}`,
    );
  }
  const types =
    format === "oci"
      ? {
          manifest: mediaTypes.ociManifest,
          index: mediaTypes.ociIndex,
          config: mediaTypes.ociConfig,
          layer: mediaTypes.ociLayerGzip,
        }
      : {
          manifest: mediaTypes.dockerManifest,
          index: mediaTypes.dockerManifestList,
          config: mediaTypes.dockerConfig,
          layer: mediaTypes.dockerLayerGzip,
        };

  const blobs = new Map<string, Buffer>();
  const addBlob = (bytes: Buffer): Descriptor & { bytes: Buffer } => {
    const digest = sha256Digest(bytes);
    blobs.set(digest, bytes);
    return { mediaType: "", digest, size: bytes.length, bytes };
  };

  const entrypoint = options.entrypoint;
  const programLayer = (() => {
    if (entrypoint === undefined) return [];
    const tar = deterministicTar([
      { name: entrypoint.path.replace(/^\/+/, ""), content: entrypoint.program, mode: 0o755 },
    ]);
    return [{ diffId: sha256Digest(tar), blob: addBlob(deterministicGzip(tar)) }];
  })();

  const manifests: BuiltManifest[] = platforms.map((platform) => {
    const platformSeed = `${options.seed}|${platformName(platform)}`;
    const layers = programLayer.concat(
      layerSizes.map((size, index) => {
        const tar = deterministicTar([
          {
            name: `regmirror-test-layer-${index}.bin`,
            content: seededBytes(`${platformSeed}|layer-${index}`, size),
          },
        ]);
        return { diffId: sha256Digest(tar), blob: addBlob(deterministicGzip(tar)) };
      }),
    );
    const config = addBlob(
      jsonBytes({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: {
          Labels: { "dev.regmirror.test.seed": options.seed },
          ...(entrypoint ? { Entrypoint: [entrypoint.path], Cmd: entrypoint.args } : {}),
        },
        rootfs: { type: "layers", diff_ids: layers.map((layer) => layer.diffId) },
      }),
    );
    const manifestBytes = jsonBytes({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: config.digest, size: config.size },
      layers: layers.map((layer) => ({
        mediaType: types.layer,
        digest: layer.blob.digest,
        size: layer.blob.size,
      })),
    });
    const manifest = addBlob(manifestBytes);
    return {
      digest: manifest.digest,
      mediaType: types.manifest,
      size: manifest.size,
      bytes: manifestBytes,
      platform,
      configDigest: config.digest,
      layerDigests: layers.map((layer) => layer.blob.digest),
    };
  });

  let top: { digest: string; mediaType: string; size: number; bytes: Buffer };
  const [single] = manifests;
  if (platforms.length === 1 && single !== undefined) {
    top = single;
  } else {
    const indexBytes = jsonBytes({
      schemaVersion: 2,
      mediaType: types.index,
      manifests: manifests.map((manifest) => ({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        platform: manifest.platform,
      })),
    });
    const index = addBlob(indexBytes);
    top = { digest: index.digest, mediaType: types.index, size: index.size, bytes: indexBytes };
  }

  const layoutDirectory = options.layoutDirectory ?? makeTempDirectory("regmirror-image-");
  await writeOciLayout(
    layoutDirectory,
    blobs,
    { mediaType: top.mediaType, digest: top.digest, size: top.size },
    tag,
  );
  let skopeoSource = `oci:${layoutDirectory}:${tag}`;
  if (format === "docker") {
    const directory = makeTempDirectory("regmirror-image-dir-");
    await writeDirTransport(directory, blobs, top.bytes, platforms.length > 1 ? manifests : []);
    skopeoSource = `dir:${directory}`;
  }
  return { layoutDirectory, tag, ...top, manifests, blobs, skopeoSource };
}

async function writeOciLayout(
  directory: string,
  blobs: Map<string, Buffer>,
  top: Descriptor,
  tag: string,
): Promise<void> {
  const blobDirectory = join(directory, "blobs", "sha256");
  await mkdir(blobDirectory, { recursive: true });
  for (const [digest, bytes] of blobs) {
    await writeFile(join(blobDirectory, digest.slice("sha256:".length)), bytes);
  }
  await writeFile(join(directory, "oci-layout"), jsonBytes({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(directory, "index.json"),
    jsonBytes({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [{ ...top, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
}

/** containers/image's `dir:` layout: manifest.json, `<hex>.manifest.json` per list entry, `<hex>` per blob. */
async function writeDirTransport(
  directory: string,
  blobs: Map<string, Buffer>,
  topManifest: Buffer,
  instances: BuiltManifest[],
): Promise<void> {
  await writeFile(join(directory, "version"), "Directory Transport Version: 1.1\n");
  await writeFile(join(directory, "manifest.json"), topManifest);
  for (const instance of instances) {
    await writeFile(
      join(directory, `${instance.digest.slice("sha256:".length)}.manifest.json`),
      instance.bytes,
    );
  }
  const manifestDigests = new Set(instances.map((instance) => instance.digest));
  for (const [digest, bytes] of blobs) {
    if (!manifestDigests.has(digest))
      await writeFile(join(directory, digest.slice("sha256:".length)), bytes);
  }
}
