// pushImages(): sends built images to a registry with @regmirror/oci-distribution's client —
// blobs, each platform's manifest by digest, the index under its tag — then the SBOM artifact,
// whose subject is the index. A registry without the referrers API (distribution 2.8) gets the
// fallback tag `sha256-<index hex>`, which the client keeps up to date.
import { createReadStream } from "node:fs";
import { createRegistryClient, type RegistryClient } from "@regmirror/oci-distribution";
import type { BuiltImage } from "./build-images.js";
import { blobPath } from "./oci/oci-layout.js";

export interface PushImagesOptions {
  /** `registry[:port]/namespace`, e.g. ghcr.io/regmirror or 127.0.0.1:5000/team. */
  repository: string;
  /** Tags to push the index under; default the image's own tag. */
  tags?: readonly string[];
  /** Talk plain HTTP (loopback test registries). */
  insecure?: boolean;
  /** A Docker config.json with credentials (what `docker login` writes); default ~/.docker/config.json when present. */
  dockerConfig?: string;
  credentials?: { username: string; password: string };
  /** Extra CA certificates (PEM) for the registry. */
  ca?: string;
  log?: (message: string) => void;
}

export interface PushedImage {
  name: string;
  /** `registry/namespace/name@sha256:...` */
  reference: string;
  tags: string[];
  indexDigest: string;
  sbomDigest: string;
}

function splitRepository(repository: string): { registry: string; namespace: string } {
  const slash = repository.indexOf("/");
  if (slash <= 0) {
    throw new Error(
      `repository "${repository}" needs a registry and a namespace, like ghcr.io/regmirror`,
    );
  }
  return {
    registry: repository.slice(0, slash),
    namespace: repository.slice(slash + 1).replace(/\/+$/, ""),
  };
}

async function pushOne(
  client: RegistryClient,
  repositoryName: string,
  image: BuiltImage,
  tags: readonly string[],
  log: (message: string) => void,
): Promise<{ sbomDigest: string }> {
  const blobs = new Set<string>();
  for (const platform of image.platforms) {
    for (const layer of platform.layers) blobs.add(layer.digest);
    blobs.add(platform.config.digest);
  }
  for (const digest of blobs) {
    const result = await client.pushBlob(
      repositoryName,
      createReadStream(blobPath(image.layoutDirectory, digest)),
      {
        digest,
      },
    );
    log(`${repositoryName}: blob ${digest.slice(0, 19)} ${result.outcome} (${result.size} bytes)`);
  }
  for (const platform of image.platforms) {
    await client.putManifest(repositoryName, platform.manifest.digest, platform.manifest.bytes);
  }
  await client.putManifest(repositoryName, image.index.digest, image.index.bytes);
  for (const tag of tags) await client.putManifest(repositoryName, tag, image.index.bytes);
  const { sbom } = image;
  await client.pushBlob(repositoryName, sbom.emptyConfig.bytes, {
    digest: sbom.emptyConfig.digest,
  });
  await client.pushBlob(repositoryName, sbom.document.bytes, { digest: sbom.document.digest });
  await client.putManifest(repositoryName, sbom.manifest.digest, sbom.manifest.bytes);
  log(
    `${repositoryName}: ${tags.join(", ")} → ${image.index.digest}, SBOM ${sbom.manifest.digest}`,
  );
  return { sbomDigest: sbom.manifest.digest };
}

export async function pushImages(
  images: readonly BuiltImage[],
  options: PushImagesOptions,
): Promise<PushedImage[]> {
  const log = options.log ?? (() => undefined);
  const { registry, namespace } = splitRepository(options.repository);
  const client = createRegistryClient({
    registry: `${options.insecure ? "http" : "https"}://${registry}`,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.dockerConfig ? { dockerConfig: options.dockerConfig } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
    // Layers are tens of MB; the registry may take a while to verify them.
    timeoutMs: 120_000,
  });
  try {
    const pushed: PushedImage[] = [];
    for (const image of images) {
      const repositoryName = `${namespace}/${image.name}`;
      const tags = [...(options.tags ?? [image.tag])];
      const { sbomDigest } = await pushOne(client, repositoryName, image, tags, log);
      pushed.push({
        name: image.name,
        reference: `${registry}/${repositoryName}@${image.index.digest}`,
        tags,
        indexDigest: image.index.digest,
        sbomDigest,
      });
    }
    return pushed;
  } finally {
    await client.close();
  }
}
