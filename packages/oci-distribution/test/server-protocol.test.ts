import { randomBytes } from "node:crypto";
import { computeDigest } from "@regmirror/core";
import { makeTempDirectory, removeTempDirectory } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from "../src/model/media-types.js";
import { createExampleRegistry, type ExampleRegistry } from "../src/testing/index.js";
import { errorCodeOf, pushBlob, pushImage, rawRequest } from "./registry-fixtures.js";

describe.each(["memory", "filesystem"] as const)("the registry server over %s storage", (kind) => {
  let registry: ExampleRegistry;
  let base: string;
  let rootDirectory: string | undefined;

  beforeAll(async () => {
    rootDirectory = kind === "filesystem" ? makeTempDirectory("oci-server-") : undefined;
    registry = await createExampleRegistry({
      rootDirectory,
      limits: { maxManifestBytes: 64 * 1024, maxBlobBytes: 1024 * 1024 },
    });
    base = registry.url;
  });
  afterAll(async () => {
    await registry?.close();
    if (rootDirectory !== undefined) await removeTempDirectory(rootDirectory);
  });

  it("answers the base endpoint with the API version header", async () => {
    const response = await fetch(`${base}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    expect(await response.json()).toEqual({});
  });

  it("stores manifests byte for byte and serves them by tag and by digest", async () => {
    const pushed = await pushImage(base, "team/app", "v1", "bytes");
    for (const reference of ["v1", pushed.digest]) {
      const response = await fetch(`${base}/v2/team/app/manifests/${reference}`, {
        headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe(OCI_MANIFEST);
      expect(response.headers.get("docker-content-digest")).toBe(pushed.digest);
      expect(response.headers.get("etag")).toBe(`"${pushed.digest}"`);
      expect(Buffer.from(await response.arrayBuffer()).equals(pushed.bytes)).toBe(true);
    }
    const head = await fetch(`${base}/v2/team/app/manifests/v1`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(pushed.bytes.byteLength));
    expect(await head.text()).toBe("");
  });

  it("answers MANIFEST_UNKNOWN when the Accept header lists only other manifest types", async () => {
    await pushImage(base, "team/negotiate", "v1", "negotiate");
    const response = await fetch(`${base}/v2/team/negotiate/manifests/v1`, {
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(response.status).toBe(404);
    expect(await errorCodeOf(response)).toBe("MANIFEST_UNKNOWN");
  });

  it("serves blobs whole, by Range (206) and refuses an unsatisfiable range (416)", async () => {
    const bytes = randomBytes(10_000);
    const digest = await pushBlob(base, "team/blobs", bytes);
    const whole = await fetch(`${base}/v2/team/blobs/blobs/${digest}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("docker-content-digest")).toBe(digest);
    expect(whole.headers.get("content-length")).toBe("10000");
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);

    const partial = await fetch(`${base}/v2/team/blobs/blobs/${digest}`, {
      headers: { Range: "bytes=100-199" },
    });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe("bytes 100-199/10000");
    expect(Buffer.from(await partial.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);

    const suffix = await fetch(`${base}/v2/team/blobs/blobs/${digest}`, {
      headers: { Range: "bytes=-10" },
    });
    expect(suffix.status).toBe(206);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(9990))).toBe(true);

    const open = await fetch(`${base}/v2/team/blobs/blobs/${digest}`, {
      headers: { Range: "bytes=9000-" },
    });
    expect(open.headers.get("content-range")).toBe("bytes 9000-9999/10000");

    const beyond = await fetch(`${base}/v2/team/blobs/blobs/${digest}`, {
      headers: { Range: "bytes=10000-" },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe("bytes */10000");
    expect(await errorCodeOf(beyond)).toBe("RANGE_INVALID");

    const backwards = await fetch(`${base}/v2/team/blobs/blobs/${digest}`, {
      headers: { Range: "bytes=500-0" },
    });
    expect(backwards.status).toBe(416);
    expect(backwards.headers.get("content-range")).toBe("bytes */10000");
    expect(await errorCodeOf(backwards)).toBe("RANGE_INVALID");

    const malformed = await fetch(`${base}/v2/team/blobs/blobs/${digest}`, {
      headers: { Range: "bytes=1-2,5-6" },
    });
    expect(malformed.status).toBe(200);
    await malformed.arrayBuffer();

    const head = await fetch(`${base}/v2/team/blobs/blobs/${digest}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("10000");
  });

  it("accepts a chunked upload and refuses an out-of-order chunk", async () => {
    const bytes = randomBytes(3000);
    const digest = computeDigest(bytes);
    const started = await fetch(`${base}/v2/team/chunked/blobs/uploads/`, { method: "POST" });
    expect(started.status).toBe(202);
    const location = started.headers.get("location") ?? "";
    expect(location).toMatch(/^\/v2\/team\/chunked\/blobs\/uploads\/[A-Za-z0-9_-]+$/);

    const first = await fetch(`${base}${location}`, {
      method: "PATCH",
      headers: { "Content-Range": "0-999", "Content-Type": "application/octet-stream" },
      body: bytes.subarray(0, 1000),
    });
    expect(first.status).toBe(202);
    expect(first.headers.get("range")).toBe("0-999");

    const outOfOrder = await fetch(`${base}${location}`, {
      method: "PATCH",
      headers: { "Content-Range": "2000-2999" },
      body: bytes.subarray(2000),
    });
    expect(outOfOrder.status).toBe(416);
    expect(await errorCodeOf(outOfOrder)).toBe("RANGE_INVALID");

    const progress = await fetch(`${base}${location}`);
    expect(progress.status).toBe(204);
    expect(progress.headers.get("range")).toBe("0-999");

    // A streamed chunk without Content-Range, then the last one on PUT.
    const second = await fetch(`${base}${location}`, {
      method: "PATCH",
      body: bytes.subarray(1000, 2000),
    });
    expect(second.headers.get("range")).toBe("0-1999");
    const done = await fetch(`${base}${location}?digest=${digest}`, {
      method: "PUT",
      headers: { "Content-Range": "2000-2999" },
      body: bytes.subarray(2000),
    });
    expect(done.status).toBe(201);
    expect(done.headers.get("location")).toBe(`/v2/team/chunked/blobs/${digest}`);
    const fetched = await fetch(`${base}/v2/team/chunked/blobs/${digest}`);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("accepts an empty blob and a sha512 digest, and cancels an upload session", async () => {
    const emptyDigest = await pushBlob(base, "team/edge", new Uint8Array());
    const empty = await fetch(`${base}/v2/team/edge/blobs/${emptyDigest}`);
    expect(empty.status).toBe(200);
    expect(empty.headers.get("content-length")).toBe("0");
    expect((await empty.arrayBuffer()).byteLength).toBe(0);

    const bytes = Buffer.from("hashed with sha512");
    const sha512 = computeDigest(bytes, "sha512");
    const pushed = await fetch(`${base}/v2/team/edge/blobs/uploads/?digest=${sha512}`, {
      method: "POST",
      body: bytes,
    });
    expect(pushed.status).toBe(201);
    const fetched = await fetch(`${base}/v2/team/edge/blobs/${sha512}`);
    expect(fetched.headers.get("docker-content-digest")).toBe(sha512);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(bytes)).toBe(true);

    const started = await fetch(`${base}/v2/team/edge/blobs/uploads/`, { method: "POST" });
    const location = started.headers.get("location") ?? "";
    expect((await fetch(`${base}${location}`, { method: "DELETE" })).status).toBe(204);
    const after = await fetch(`${base}${location}`);
    expect(after.status).toBe(404);
    expect(await errorCodeOf(after)).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  it("refuses an upload whose content does not match its digest, and keeps nothing", async () => {
    const wrong = computeDigest("something else");
    const response = await fetch(`${base}/v2/team/wrong/blobs/uploads/?digest=${wrong}`, {
      method: "POST",
      body: "actual content",
    });
    expect(response.status).toBe(400);
    expect(await errorCodeOf(response)).toBe("DIGEST_INVALID");
    expect((await fetch(`${base}/v2/team/wrong/blobs/${wrong}`, { method: "HEAD" })).status).toBe(
      404,
    );
  });

  it("mounts a blob from another repository, and falls back to a session when it cannot", async () => {
    const digest = await pushBlob(base, "team/source", Buffer.from("shared layer"));
    const mounted = await fetch(
      `${base}/v2/team/target/blobs/uploads/?mount=${digest}&from=team/source`,
      {
        method: "POST",
      },
    );
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get("docker-content-digest")).toBe(digest);
    expect((await fetch(`${base}/v2/team/target/blobs/${digest}`, { method: "HEAD" })).status).toBe(
      200,
    );

    const missing = computeDigest("nowhere");
    const fallback = await fetch(
      `${base}/v2/team/target/blobs/uploads/?mount=${missing}&from=team/source`,
      {
        method: "POST",
      },
    );
    expect(fallback.status).toBe(202);
    // A repository that never got the blob cannot read it.
    expect((await fetch(`${base}/v2/team/other/blobs/${digest}`, { method: "HEAD" })).status).toBe(
      404,
    );
  });

  it("lists tags in pages linked by the Link header", async () => {
    const tags = Array.from({ length: 7 }, (_, index) => `t${index}`);
    const pushed = await pushImage(base, "team/paged", "t0", "paged");
    for (const tag of tags.slice(1)) {
      const response = await fetch(`${base}/v2/team/paged/manifests/${tag}`, {
        method: "PUT",
        headers: { "Content-Type": OCI_MANIFEST },
        body: pushed.bytes,
      });
      expect(response.status).toBe(201);
    }
    const seen: string[] = [];
    let next: string | undefined = "/v2/team/paged/tags/list?n=3";
    while (next !== undefined) {
      const response = await fetch(`${base}${next}`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { name: string; tags: string[] };
      expect(body.name).toBe("team/paged");
      seen.push(...body.tags);
      next = /^<([^>]+)>; rel="next"$/.exec(response.headers.get("link") ?? "")?.[1];
    }
    expect(seen).toEqual(tags);
    const all = await fetch(`${base}/v2/team/paged/tags/list`);
    expect(((await all.json()) as { tags: string[] }).tags).toEqual(tags);
    const afterLast = await fetch(`${base}/v2/team/paged/tags/list?last=t5`);
    expect(((await afterLast.json()) as { tags: string[] }).tags).toEqual(["t6"]);
    const unknown = await fetch(`${base}/v2/team/never/tags/list`);
    expect(await errorCodeOf(unknown)).toBe("NAME_UNKNOWN");
    const badNumber = await fetch(`${base}/v2/team/paged/tags/list?n=-1`);
    expect(badNumber.status).toBe(400);
  });

  it("lists repositories in the catalog", async () => {
    await pushImage(base, "catalog/one", "v1", "catalog");
    const response = await fetch(`${base}/v2/_catalog?n=1000`);
    const body = (await response.json()) as { repositories: string[] };
    expect(body.repositories).toContain("catalog/one");
    expect(body.repositories).toEqual([...body.repositories].sort());
  });

  it("answers referrers of a subject, filtered by artifactType", async () => {
    const subject = await pushImage(base, "team/signed", "v1", "subject");
    const subjectDescriptor = {
      mediaType: OCI_MANIFEST,
      digest: subject.digest,
      size: subject.bytes.byteLength,
    };
    const empty = Buffer.from("{}");
    await pushBlob(base, "team/signed", empty);
    const emptyConfig = { mediaType: OCI_EMPTY, digest: computeDigest(empty), size: 2 };
    const signaturePush = await fetch(`${base}/v2/team/signed/manifests/probe`, {
      method: "PUT",
      headers: { "Content-Type": OCI_MANIFEST },
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: emptyConfig,
        layers: [],
        subject: subjectDescriptor,
      }),
    });
    expect(signaturePush.status).toBe(201);
    expect(signaturePush.headers.get("oci-subject")).toBe(subject.digest);
    const signature = await pushImage(base, "team/signed", "sig", "sig", {
      artifactType: "application/vnd.example.signature",
      config: emptyConfig,
      subject: subjectDescriptor,
      annotations: { "org.example.signer": "ci" },
    });
    await pushImage(base, "team/signed", "sbom", "sbom", {
      artifactType: "application/vnd.example.sbom",
      config: emptyConfig,
      subject: subjectDescriptor,
    });
    const all = await fetch(`${base}/v2/team/signed/referrers/${subject.digest}`);
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toBe(OCI_INDEX);
    const index = (await all.json()) as { manifests: { artifactType: string; digest: string }[] };
    // Without artifactType, a referrer's type is its config media type.
    expect(index.manifests.map((entry) => entry.artifactType).sort()).toEqual([
      "application/vnd.example.sbom",
      "application/vnd.example.signature",
      OCI_EMPTY,
    ]);
    const filtered = await fetch(
      `${base}/v2/team/signed/referrers/${subject.digest}?artifactType=application/vnd.example.signature`,
    );
    expect(filtered.headers.get("oci-filters-applied")).toBe("artifactType");
    const filteredIndex = (await filtered.json()) as {
      manifests: { digest: string; annotations: object }[];
    };
    expect(filteredIndex.manifests).toHaveLength(1);
    expect(filteredIndex.manifests[0]?.digest).toBe(signature.digest);
    expect(filteredIndex.manifests[0]?.annotations).toEqual({ "org.example.signer": "ci" });

    // Deleting a referrer removes it from the list.
    const deleted = await fetch(`${base}/v2/team/signed/manifests/${signature.digest}`, {
      method: "DELETE",
    });
    expect(deleted.status).toBe(202);
    const after = (await (
      await fetch(`${base}/v2/team/signed/referrers/${subject.digest}`)
    ).json()) as {
      manifests: unknown[];
    };
    expect(after.manifests).toHaveLength(2);
    const none = await fetch(`${base}/v2/team/signed/referrers/${computeDigest("no subject")}`);
    expect(((await none.json()) as { manifests: unknown[] }).manifests).toEqual([]);
  });

  it("deletes tags, manifests and blobs", async () => {
    const pushed = await pushImage(base, "team/deleting", "v1", "deleting");
    expect(
      (await fetch(`${base}/v2/team/deleting/manifests/v1`, { method: "DELETE" })).status,
    ).toBe(202);
    expect((await fetch(`${base}/v2/team/deleting/manifests/v1`)).status).toBe(404);
    expect((await fetch(`${base}/v2/team/deleting/manifests/${pushed.digest}`)).status).toBe(200);
    expect(
      (await fetch(`${base}/v2/team/deleting/manifests/${pushed.digest}`, { method: "DELETE" }))
        .status,
    ).toBe(202);
    const gone = await fetch(`${base}/v2/team/deleting/manifests/${pushed.digest}`);
    expect(await errorCodeOf(gone)).toBe("MANIFEST_UNKNOWN");
    expect(
      (await fetch(`${base}/v2/team/deleting/blobs/${pushed.layerDigest}`, { method: "DELETE" }))
        .status,
    ).toBe(202);
    const blobGone = await fetch(`${base}/v2/team/deleting/blobs/${pushed.layerDigest}`);
    expect(await errorCodeOf(blobGone)).toBe("BLOB_UNKNOWN");
  });

  it("refuses manifests that point at unknown blobs, are too large or do not match their digest", async () => {
    const unknownBlob = computeDigest("absent");
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_EMPTY, digest: unknownBlob, size: 2 },
      layers: [],
    });
    const missing = await fetch(`${base}/v2/team/refused/manifests/v1`, {
      method: "PUT",
      headers: { "Content-Type": OCI_MANIFEST },
      body: manifest,
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      errors: [{ code: "MANIFEST_BLOB_UNKNOWN", detail: { digest: unknownBlob } }],
    });

    const huge = await fetch(`${base}/v2/team/refused/manifests/v1`, {
      method: "PUT",
      headers: { "Content-Type": OCI_MANIFEST },
      body: Buffer.alloc(65 * 1024, 32),
    });
    expect(huge.status).toBe(413);
    expect(await errorCodeOf(huge)).toBe("SIZE_INVALID");

    const pushed = await pushImage(base, "team/refused", "v2", "refused");
    const mismatch = await fetch(`${base}/v2/team/refused/manifests/${computeDigest("other")}`, {
      method: "PUT",
      headers: { "Content-Type": OCI_MANIFEST },
      body: pushed.bytes,
    });
    expect(await errorCodeOf(mismatch)).toBe("DIGEST_INVALID");

    const schema1 = await fetch(`${base}/v2/team/refused/manifests/old`, {
      method: "PUT",
      headers: { "Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws" },
      body: JSON.stringify({ schemaVersion: 1, name: "team/refused", tag: "old", fsLayers: [] }),
    });
    expect(schema1.status).toBe(400);
    expect(await schema1.json()).toMatchObject({
      errors: [
        { code: "MANIFEST_INVALID", message: "Docker schema 1 manifests are not supported" },
      ],
    });
  });

  it("caps uploads at the blob size limit", async () => {
    const response = await fetch(
      `${base}/v2/team/big/blobs/uploads/?digest=${computeDigest("x")}`,
      {
        method: "POST",
        body: Buffer.alloc(1024 * 1024 + 1),
      },
    );
    expect(response.status).toBe(413);
    expect(await errorCodeOf(response)).toBe("SIZE_INVALID");
  });

  it.each([
    ["/v2/a/../b/tags/list", "GET", 400, "NAME_INVALID"],
    ["/v2/a//b/tags/list", "GET", 400, "NAME_INVALID"],
    ["/v2/Upper/tags/list", "GET", 400, "NAME_INVALID"],
    [`/v2/${"a".repeat(300)}/tags/list`, "GET", 400, "NAME_INVALID"],
    ["/v2/a/blobs/sha256:abc", "GET", 400, "DIGEST_INVALID"],
    ["/v2/a/blobs/md5:abc", "GET", 400, "DIGEST_INVALID"],
    ["/v2/a/manifests/-bad-tag", "GET", 400, "MANIFEST_INVALID"],
    ["/v2/a/blobs/uploads/not..an..id", "PATCH", 404, "BLOB_UPLOAD_UNKNOWN"],
    ["/v2/a/blobs/uploads/00000000-0000-0000-0000-000000000000", "PUT", 400, "DIGEST_INVALID"],
    ["/v2/a/tags/list", "POST", 405, "UNSUPPORTED"],
    ["/v3/whatever", "GET", 404, "UNSUPPORTED"],
  ])("answers %s (%s) with %i %s", async (path, method, status, code) => {
    const response = await rawRequest(registry.host, method, path);
    expect(response.status).toBe(status);
    expect(response.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(response.body.toString()).errors[0].code).toBe(code);
  });
});

describe("a read-only registry", () => {
  let registry: ExampleRegistry;
  beforeAll(async () => {
    registry = await createExampleRegistry({ readOnly: true });
  });
  afterAll(async () => {
    await registry?.close();
  });

  it.each([
    ["POST", "/v2/a/blobs/uploads/"],
    ["PUT", "/v2/a/manifests/v1"],
    ["DELETE", `/v2/a/manifests/${computeDigest("x")}`],
    ["DELETE", `/v2/a/blobs/${computeDigest("x")}`],
  ])("answers %s %s with UNSUPPORTED", async (method, path) => {
    const response = await fetch(`${registry.url}${path}`, {
      method,
      body: method === "GET" ? undefined : "{}",
    });
    expect(response.status).toBe(405);
    expect(await errorCodeOf(response)).toBe("UNSUPPORTED");
  });
});
