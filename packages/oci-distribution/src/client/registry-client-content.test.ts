// Tests of the client's pushes and pulls against docker-registry and skopeo.
import { Readable } from "node:stream";
import { computeDigest, DigestMismatchError } from "@regmirror/core";
import {
  buildTestImage,
  pushTestImage,
  registryAccess,
  skopeoInspectRaw,
  startUpstreamRegistry,
  stopAll,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collect,
  errorOf,
  pushImageWithClient,
  readAll,
  recordRequests,
} from "../../test/client-test-support.js";
import { RegistryError } from "../model/errors.js";
import { OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from "../model/media-types.js";
import { RegistryClientError } from "./client-errors.js";
import { referrersTagFor } from "./referrers.js";
import { createRegistryClient, type RegistryClient } from "./registry-client.js";

/** Pulls every manifest and blob below `reference` and checks each against the built image. */
async function expectSameImage(
  client: RegistryClient,
  repository: string,
  reference: string,
  image: TestImage,
) {
  const top = await client.getManifest(repository, reference);
  expect(top.digest).toBe(image.digest);
  expect(top.mediaType).toBe(image.mediaType);
  expect(top.bytes.equals(image.bytes)).toBe(true);
  for (const built of image.manifests) {
    const manifest = await client.getManifest(repository, built.digest);
    expect(manifest.bytes.equals(built.bytes)).toBe(true);
    for (const digest of [built.configDigest, ...built.layerDigests]) {
      const download = await client.getBlob(repository, digest);
      expect(download.size).toBe(image.blobs.get(digest)?.length);
      expect((await readAll(download.stream)).equals(image.blobs.get(digest) as Buffer)).toBe(true);
    }
  }
}

describe("registry client against docker-registry over TLS with a custom CA", () => {
  let registry: UpstreamRegistry;
  let client: RegistryClient;
  let agent: Agent;
  /** Every request the client sent, as "METHOD /path?query", seen through the `dispatcher` option. */
  const sent: string[] = [];

  beforeAll(async () => {
    registry = await startUpstreamRegistry({ auth: "none", tls: true });
    agent = new Agent({ connect: { ca: registry.ca } });
    client = createRegistryClient({
      registry: registry.url,
      dispatcher: agent.compose(recordRequests(sent)),
      retry: { retries: 0 },
    });
  });
  afterAll(() => stopAll(client, agent, registry));

  it("trusts a CA given with the `ca` option", async () => {
    const trusting = createRegistryClient({ registry: registry.url, ca: registry.ca as string });
    try {
      expect(await trusting.ping()).toEqual({ apiVersion: "registry/2.0" });
    } finally {
      await trusting.close();
    }
  });

  it("refuses the registry's certificate without the CA", async () => {
    const untrusting = createRegistryClient({ registry: registry.url, retry: { retries: 0 } });
    try {
      const error = await errorOf(untrusting.ping());
      expect(RegistryClientError.isInstance(error) && error.code).toBe("TLS_FAILED");
    } finally {
      await untrusting.close();
    }
  });

  it("pushes an OCI image and pulls it back byte for byte; skopeo reads the same bytes", async () => {
    const image = await buildTestImage({ seed: "client-content-oci", layers: [3000, 70_000] });
    expect(await pushImageWithClient(client, "content/oci", image)).toBe(image.digest);
    await expectSameImage(client, "content/oci", image.tag, image);
    await expectSameImage(client, "content/oci", image.digest, image);
    const raw = await skopeoInspectRaw(
      `docker://${registry.host}/content/oci:${image.tag}`,
      registryAccess(registry),
    );
    expect(raw.equals(image.bytes)).toBe(true);
  });

  it("pulls a multi-platform Docker manifest list that skopeo pushed", async () => {
    const image = await buildTestImage({
      seed: "client-content-multi",
      format: "docker",
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64", variant: "v8" },
      ],
    });
    await pushTestImage(image, registry, "content/multi");
    expect(image.manifests).toHaveLength(2);
    await expectSameImage(client, "content/multi", image.tag, image);
    const head = await client.headManifest("content/multi", image.tag);
    expect(head).toEqual({
      digest: image.digest,
      mediaType: image.mediaType,
      size: image.bytes.length,
    });
  });

  it("pushes a multi-platform OCI index with the client", async () => {
    const image = await buildTestImage({
      seed: "client-content-index",
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "s390x" },
      ],
    });
    await pushImageWithClient(client, "content/index", image, "multi");
    await expectSameImage(client, "content/index", "multi", image);
  });

  it("answers the OCI error codes for what is not there, and refuses bad names before sending", async () => {
    const missing = `sha256:${"0".repeat(64)}`;
    const manifestError = await errorOf(client.getManifest("content/oci", "no-such-tag"));
    expect(RegistryError.isInstance(manifestError) && manifestError.code).toBe("MANIFEST_UNKNOWN");
    const blobError = await errorOf(client.headBlob("content/oci", missing));
    expect(RegistryError.isInstance(blobError) && blobError.code).toBe("BLOB_UNKNOWN");
    expect(RegistryError.isInstance(blobError) && blobError.status).toBe(404);
    await expect(client.getManifest("../etc", "latest")).rejects.toThrow(
      /invalid image reference: repository/,
    );
    await expect(client.getManifest("content/oci", "bad tag?")).rejects.toThrow(/tag/);
    await expect(client.getBlob("content/oci", "sha256:xyz")).rejects.toThrow(/invalid digest/);
  });

  it("uploads a stream in chunks and refuses content that does not match the given digest", async () => {
    const content = Buffer.alloc(300_000, 7);
    content.write("chunked upload test");
    const digest = computeDigest(content);
    const stream = Readable.from([
      content.subarray(0, 1000),
      content.subarray(1000, 250_000),
      content.subarray(250_000),
    ]);
    const pushed = await client.pushBlob("content/chunked", stream, { chunkSize: 64 * 1024 });
    expect(pushed).toEqual({ digest, size: content.length, outcome: "uploaded" });
    expect(await client.headBlob("content/chunked", digest)).toEqual({
      digest,
      size: content.length,
    });
    expect(
      (await readAll((await client.getBlob("content/chunked", digest)).stream)).equals(content),
    ).toBe(true);
    // Pushing it again finds it there.
    expect((await client.pushBlob("content/chunked", content)).outcome).toBe("exists");

    const wrongDigest = computeDigest("something else");
    const error = await errorOf(
      client.pushBlob("content/chunked", Readable.from([Buffer.from("this content")]), {
        digest: wrongDigest,
      }),
    );
    expect(error).toBeInstanceOf(DigestMismatchError);
    await expect(client.headBlob("content/chunked", wrongDigest)).rejects.toMatchObject({
      code: "BLOB_UNKNOWN",
    });
  });

  it("mounts a blob from another repository (201), and uploads when the source lacks it (202)", async () => {
    const shared = Buffer.from("a layer shared by two repositories");
    await client.pushBlob("content/mount-source", shared);
    const mounted = await client.pushBlob("content/mount-target", shared, {
      mountFrom: "content/mount-source",
    });
    expect(mounted.outcome).toBe("mounted");

    const fresh = Buffer.from("a layer the source does not have");
    const uploaded = await client.pushBlob("content/mount-target", fresh, {
      mountFrom: "content/mount-source",
    });
    expect(uploaded.outcome).toBe("uploaded");
    const download = await client.getBlob("content/mount-target", uploaded.digest);
    expect((await readAll(download.stream)).equals(fresh)).toBe(true);
  });

  it("copies a blob by mount with another client's getBlob stream: the unread stream is released and both clients close", async () => {
    const layer = Buffer.alloc(4 * 1024 * 1024, 3);
    layer.write("a layer copied between repositories");
    const { digest } = await client.pushBlob("content/copy-source", layer);
    // A second client, with its own connections, as a copy tool would use for the source.
    const source = createRegistryClient({ registry: registry.url, ca: registry.ca as string });
    const download = await source.getBlob("content/copy-source", digest);
    const pushed = await client.pushBlob("content/copy-target", download.stream, {
      digest,
      mountFrom: "content/copy-source",
    });
    expect(pushed).toEqual({ digest, size: layer.length, outcome: "mounted" });
    expect(download.stream.destroyed).toBe(true);
    // The stream the push did not need no longer holds a connection: close settles.
    await source.close();
  });

  it("close() ends a getBlob stream left unread (it fails with CLIENT_CLOSED) instead of hanging", async () => {
    const layer = Buffer.alloc(4 * 1024 * 1024, 5);
    const { digest } = await client.pushBlob("content/unread", layer);
    const reader = createRegistryClient({ registry: registry.url, ca: registry.ca as string });
    const download = await reader.getBlob("content/unread", digest);
    await reader.close();
    const error = await errorOf(readAll(download.stream));
    expect(RegistryClientError.isInstance(error) && error.code).toBe("CLIENT_CLOSED");
  });

  it("refuses mountFrom with a stream but no digest before sending anything", async () => {
    sent.length = 0;
    const error = await errorOf(
      client.pushBlob("content/mount-target", Readable.from([Buffer.from("bytes")]), {
        mountFrom: "content/mount-source",
      }),
    );
    expect(RegistryClientError.isInstance(error) && error.code).toBe("INVALID_OPTIONS");
    expect((error as Error).message).toContain("needs the blob's digest");
    expect(sent).toEqual([]);
  });

  it("lists more than 100 tags", async () => {
    const image = await buildTestImage({ seed: "client-content-tags" });
    await pushImageWithClient(client, "content/tags", image, "tag-000");
    const expected = ["tag-000"];
    for (let index = 1; index <= 104; index += 1) {
      const tag = `tag-${String(index).padStart(3, "0")}`;
      await client.putManifest("content/tags", tag, image.bytes);
      expected.push(tag);
    }
    // distribution 2.8 answers every tag in one page, in no order (its catalog does paginate).
    expect((await collect(client.listTags("content/tags", { pageSize: 30 }))).sort()).toEqual(
      expected,
    );
  });

  it("lists a catalog of more than 100 repositories page by page along the Link header", async () => {
    const image = await buildTestImage({ seed: "client-content-catalog" });
    await pushImageWithClient(client, "catalog/repository-000", image);
    const manifest = image.manifests[0];
    if (!manifest) throw new Error("image without manifest");
    const expected = ["catalog/repository-000"];
    for (let index = 1; index <= 101; index += 1) {
      const repository = `catalog/repository-${String(index).padStart(3, "0")}`;
      for (const digest of [manifest.configDigest, ...manifest.layerDigests]) {
        const blob = image.blobs.get(digest) as Buffer;
        await client.pushBlob(repository, blob, { mountFrom: "catalog/repository-000" });
      }
      await client.putManifest(repository, image.tag, image.bytes);
      expected.push(repository);
    }
    sent.length = 0;
    const all = await collect(client.listRepositories());
    expect(all.filter((name) => name.startsWith("catalog/"))).toEqual(expected);
    expect(new Set(all).size).toBe(all.length);
    // The registry's own page size (100) made the client follow at least one Link.
    expect(sent.filter((line) => line.startsWith("GET /v2/_catalog")).length).toBeGreaterThan(1);

    sent.length = 0;
    const small = await collect(client.listRepositories({ pageSize: 40 }));
    expect(small).toEqual(all);
    const pages = sent.filter((line) => line.startsWith("GET /v2/_catalog"));
    expect(pages.length).toBe(Math.ceil(all.length / 40) + (all.length % 40 === 0 ? 1 : 0));
    expect(pages[1]).toMatch(/last=/);
  });

  it("finds referrers through the fallback tag when the registry has no referrers API", async () => {
    const image = await buildTestImage({ seed: "client-content-referrers" });
    await pushImageWithClient(client, "content/signed", image);
    const emptyConfig = Buffer.from("{}");
    await client.pushBlob("content/signed", emptyConfig);
    const signatureLayer = Buffer.from("pretend signature");
    await client.pushBlob("content/signed", signatureLayer);
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: "application/vnd.example.signature",
        config: {
          mediaType: OCI_EMPTY,
          digest: computeDigest(emptyConfig),
          size: emptyConfig.length,
        },
        layers: [
          {
            mediaType: "application/octet-stream",
            digest: computeDigest(signatureLayer),
            size: signatureLayer.length,
          },
        ],
        subject: { mediaType: image.mediaType, digest: image.digest, size: image.bytes.length },
        annotations: { "org.example.note": "test" },
      }),
    );
    const pushed = await client.putManifest("content/signed", computeDigest(artifact), artifact);
    expect(pushed.subjectDigest).toBeUndefined(); // distribution 2.8 does not index subjects

    const referrers = await client.listReferrers("content/signed", image.digest);
    expect(referrers).toEqual([
      {
        mediaType: OCI_MANIFEST,
        digest: computeDigest(artifact),
        size: artifact.length,
        artifactType: "application/vnd.example.signature",
        annotations: { "org.example.note": "test" },
      },
    ]);
    const fallback = await client.getManifest("content/signed", referrersTagFor(image.digest));
    expect(fallback.mediaType).toBe(OCI_INDEX);
    expect(
      await client.listReferrers("content/signed", image.digest, {
        artifactType: "application/other",
      }),
    ).toEqual([]);
    expect(
      await client.listReferrers("content/signed", image.manifests[0]?.configDigest as string),
    ).toEqual([]);
    // Without the fallback (what a proxy passes on), the registry's 404 is the answer.
    await expect(
      client.listReferrers("content/signed", image.digest, { tagSchemaFallback: false }),
    ).rejects.toMatchObject({ status: 404 });
  });
});
