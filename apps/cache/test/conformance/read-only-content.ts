// Content pushed to an upstream before the conformance suite's read-only run against the cache:
// what the suite then pulls through the cache (its OCI_RO_DATA_* lists) and what the extra
// checks compare. Built with the project's own registry client, byte for byte reproducible.
import {
  computeDigest,
  createRegistryClient,
  type DigestAlgorithm,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
} from "@regmirror/oci-distribution";
import { buildTestImage, seededBytes } from "@regmirror/test-kit";

export interface ContentDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The `OCI_RO_DATA_*` lists: everything the suite pulls from the cache's repository. */
export interface ReadOnlyData {
  tags: string[];
  manifests: string[];
  blobs: string[];
  /** Subjects whose referrers the suite lists (only for upstreams with the referrers API). */
  referrers: string[];
}

export interface PushedContent extends ReadOnlyData {
  /** Manifest and blob bytes by digest, for byte-for-byte comparisons. */
  bytes: Map<string, Buffer>;
  /** Referrers pushed per subject digest, as the referrers API should list them. */
  referrersOf: Map<string, ContentDescriptor[]>;
}

type Client = ReturnType<typeof createRegistryClient>;

/** Pushes blobs and manifests of one repository and records what it pushed. */
export class ContentWriter {
  readonly content: PushedContent = {
    tags: [],
    manifests: [],
    blobs: [],
    referrers: [],
    bytes: new Map(),
    referrersOf: new Map(),
  };

  constructor(
    private readonly client: Client,
    private readonly repository: string,
  ) {}

  async blob(bytes: Buffer, mediaType: string, algorithm: DigestAlgorithm = "sha256") {
    const digest = computeDigest(bytes, algorithm);
    await this.client.pushBlob(this.repository, bytes, { digest });
    if (!this.content.bytes.has(digest)) this.content.blobs.push(digest);
    this.content.bytes.set(digest, bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  /** PUT by digest, and also by `tag` when given; a `subject` makes it a listed referrer. */
  async manifest(
    manifest: Record<string, unknown> & { mediaType: string },
    options: { algorithm?: DigestAlgorithm; tag?: string } = {},
  ): Promise<ContentDescriptor> {
    return this.manifestBytes(Buffer.from(JSON.stringify(manifest)), options);
  }

  /** As `manifest`, for bytes that must stay exactly as they are (their digests are referenced). */
  async manifestBytes(
    bytes: Buffer,
    options: { algorithm?: DigestAlgorithm; tag?: string } = {},
  ): Promise<ContentDescriptor> {
    const manifest = JSON.parse(bytes.toString("utf8")) as Record<string, unknown> & {
      mediaType: string;
    };
    const digest = computeDigest(bytes, options.algorithm ?? "sha256");
    await this.client.putManifest(this.repository, digest, bytes);
    if (options.tag !== undefined) {
      await this.client.putManifest(this.repository, options.tag, bytes);
      this.content.tags.push(options.tag);
    }
    this.content.manifests.push(digest);
    this.content.bytes.set(digest, bytes);
    const descriptor: ContentDescriptor = {
      mediaType: manifest.mediaType,
      digest,
      size: bytes.byteLength,
    };
    const subject = manifest.subject as ContentDescriptor | undefined;
    if (subject !== undefined) {
      // As the referrers API lists it: artifactType, else the config's media type; annotations.
      const artifactType =
        (manifest.artifactType as string | undefined) ??
        (manifest.config as ContentDescriptor | undefined)?.mediaType;
      const listed: ContentDescriptor = { ...descriptor };
      if (artifactType !== undefined) listed.artifactType = artifactType;
      const annotations = manifest.annotations as Record<string, string> | undefined;
      if (annotations !== undefined) listed.annotations = annotations;
      const known = this.content.referrersOf.get(subject.digest) ?? [];
      this.content.referrersOf.set(subject.digest, [...known, listed]);
    }
    return descriptor;
  }

  /** A small artifact whose subject is `subject`: empty config `{}`, a layer and an empty (0 byte) layer. */
  async artifact(
    subject: ContentDescriptor,
    artifactType: string,
    seed: string,
    algorithm: DigestAlgorithm = "sha256",
  ) {
    const config = await this.blob(Buffer.from("{}"), OCI_EMPTY, algorithm);
    const layer = await this.blob(
      seededBytes(seed, 300),
      "application/vnd.regmirror.test",
      algorithm,
    );
    const empty = await this.blob(Buffer.alloc(0), "application/vnd.regmirror.test", algorithm);
    return this.manifest(
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config,
        layers: [layer, empty],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
        annotations: { "org.opencontainers.image.description": `regmirror test ${seed}` },
      },
      { algorithm },
    );
  }

  /** An image manifest with one layer, every digest computed with `algorithm`. */
  async image(seed: string, algorithm: DigestAlgorithm, tag?: string) {
    const layer = await this.blob(seededBytes(`${seed} layer`, 2000), OCI_LAYER, algorithm);
    const config = await this.blob(
      Buffer.from(
        JSON.stringify({
          architecture: "amd64",
          os: "linux",
          rootfs: { type: "layers", diff_ids: [layer.digest] },
        }),
      ),
      OCI_CONFIG,
      algorithm,
    );
    return this.manifest(
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] },
      { algorithm, ...(tag === undefined ? {} : { tag }) },
    );
  }
}

export const artifactTypes = {
  sbom: "application/vnd.regmirror.test.sbom",
  signature: "application/vnd.regmirror.test.signature",
} as const;

/**
 * For the example registry (it has the referrers API): a multi-platform image by tag, an image
 * and an index all in sha512, the empty blob `{}` as artifact config, and referrers of a sha256
 * and of a sha512 subject with two artifact types.
 */
export async function pushReferrersAndSha512(registryUrl: string, repository: string) {
  const client = createRegistryClient({ registry: registryUrl });
  try {
    const writer = new ContentWriter(client, repository);
    const image = await pushTestImage(writer, "conformance multi-platform", "multi-platform");
    const sha512Image = await writer.image("conformance sha512", "sha512");
    await writer.manifest(
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [sha512Image] },
      { algorithm: "sha512" },
    );
    await writer.artifact(image, artifactTypes.sbom, "sbom of the image");
    await writer.artifact(image, artifactTypes.signature, "signature of the image");
    await writer.artifact(sha512Image, artifactTypes.signature, "sha512 signature", "sha512");
    writer.content.referrers.push(image.digest, sha512Image.digest);
    return writer.content;
  } finally {
    await client.close();
  }
}

/**
 * For distribution 2.8 (no referrers API, no sha512): a multi-platform OCI image by tag and an
 * artifact whose subject is that image — the client keeps it in the referrers tag schema
 * (`sha256-<hex>`), which is pushed as a tag like any other. (No Docker schema 2 image: the
 * suite asks for manifests accepting only OCI types, which distribution itself then refuses
 * with 400 MANIFEST_INVALID and the cache with 404 MANIFEST_UNKNOWN.)
 */
export async function pushImagesAndReferrersTag(registryUrl: string, repository: string) {
  const client = createRegistryClient({ registry: registryUrl });
  try {
    const writer = new ContentWriter(client, repository);
    const image = await pushTestImage(writer, "conformance multi-platform", "multi-platform");
    await writer.artifact(image, artifactTypes.signature, "signature of the image");
    writer.content.tags.push(`sha256-${image.digest.slice("sha256:".length)}`);
    return writer.content;
  } finally {
    await client.close();
  }
}

/** The kit's deterministic multi-platform OCI image: blobs, platform manifests, index by tag. */
async function pushTestImage(writer: ContentWriter, seed: string, tag: string) {
  const image = await buildTestImage({
    seed,
    platforms: [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ],
  });
  const manifestDigests = new Set(image.manifests.map((manifest) => manifest.digest));
  for (const [digest, bytes] of image.blobs) {
    if (digest !== image.digest && !manifestDigests.has(digest)) {
      await writer.blob(bytes, "application/octet-stream");
    }
  }
  for (const manifest of image.manifests) await writer.manifestBytes(manifest.bytes);
  return writer.manifestBytes(image.bytes, { tag });
}
