// The JSON documents of an image: each platform's config and manifest, the index over them.
// Keys are written in a fixed order and nothing depends on the clock, so equal inputs give
// equal bytes (and digests).
import { createHash } from "node:crypto";
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST } from "@regmirror/oci-distribution";
import type { ImagePlatform } from "../platforms.js";
import { platformNames } from "../platforms.js";
import type { LayerBlob } from "./layer-blob.js";

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
  artifactType?: string;
}

export function jsonBlob(mediaType: string, value: unknown): Blob {
  const bytes = Buffer.from(JSON.stringify(value));
  return {
    mediaType,
    digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    size: bytes.length,
    bytes,
  };
}

export function descriptorOf(blob: Blob, extra: Partial<OciDescriptor> = {}): OciDescriptor {
  return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size, ...extra };
}

export interface ContainerSettings {
  user: string;
  environment: string[];
  entrypoint: string[];
  command: string[];
  workingDirectory: string;
  exposedPorts: string[];
  labels: Record<string, string>;
}

export interface NamedLayer {
  blob: LayerBlob;
  /** What made it, for the config's history. */
  createdBy: string;
}

export function imageConfig(options: {
  platform: ImagePlatform;
  created: string;
  settings: ContainerSettings;
  layers: readonly NamedLayer[];
}): Blob {
  const { settings } = options;
  return jsonBlob(OCI_CONFIG, {
    created: options.created,
    architecture: platformNames[options.platform].architecture,
    os: "linux",
    config: {
      User: settings.user,
      ExposedPorts: Object.fromEntries(settings.exposedPorts.map((port) => [port, {}])),
      Env: settings.environment,
      Entrypoint: settings.entrypoint,
      Cmd: settings.command,
      WorkingDir: settings.workingDirectory,
      Labels: settings.labels,
      StopSignal: "SIGTERM",
    },
    rootfs: { type: "layers", diff_ids: options.layers.map((layer) => layer.blob.diffId) },
    history: options.layers.map((layer) => ({
      created: options.created,
      created_by: layer.createdBy,
    })),
  });
}

export function imageManifest(options: {
  config: Blob;
  layers: readonly NamedLayer[];
  annotations: Record<string, string>;
}): Blob {
  return jsonBlob(OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(options.config),
    layers: options.layers.map((layer) => ({
      mediaType: OCI_LAYER_GZIP,
      digest: layer.blob.digest,
      size: layer.blob.size,
    })),
    annotations: options.annotations,
  });
}

export function imageIndex(options: {
  manifests: readonly { platform: ImagePlatform; manifest: Blob }[];
  annotations: Record<string, string>;
}): Blob {
  return jsonBlob(OCI_INDEX, {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: options.manifests.map(({ platform, manifest }) =>
      descriptorOf(manifest, {
        platform: { architecture: platformNames[platform].architecture, os: "linux" },
      }),
    ),
    annotations: options.annotations,
  });
}
