// Tests of manifest parsing and detection.
import { computeDigest } from "@regmirror/core";
import { describe, expect, it } from "vitest";
import { RegistryError } from "./errors.js";
import {
  artifactTypeOf,
  blobDescriptorsOf,
  childManifestsOf,
  parseManifest,
  subjectOf,
} from "./manifest.js";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_SCHEMA1_SIGNED_MANIFEST,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
} from "./media-types.js";

const config = { mediaType: OCI_CONFIG, digest: computeDigest("config"), size: 6 };
const layer = { mediaType: OCI_LAYER_GZIP, digest: computeDigest("layer"), size: 5 };

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("parseManifest", () => {
  it("reads an OCI manifest with artifactType, subject and annotations", () => {
    const subject = { mediaType: OCI_MANIFEST, digest: computeDigest("s"), size: 1 };
    const bytes = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.sbom",
      config: { mediaType: OCI_EMPTY, digest: computeDigest("{}"), size: 2 },
      layers: [layer],
      subject,
      annotations: { "org.example": "yes" },
      unknownField: [1, 2],
    });
    const parsed = parseManifest(bytes);
    expect(parsed.kind).toBe("oci-manifest");
    expect(subjectOf(parsed)).toEqual(subject);
    expect(artifactTypeOf(parsed)).toBe("application/vnd.example.sbom");
    expect(blobDescriptorsOf(parsed)).toHaveLength(2);
    expect((parsed.manifest as Record<string, unknown>).unknownField).toEqual([1, 2]);
  });

  it("detects each kind from mediaType, Content-Type or fields", () => {
    const ociIndex = {
      schemaVersion: 2,
      manifests: [
        { ...config, mediaType: OCI_MANIFEST, platform: { os: "linux", architecture: "amd64" } },
      ],
    };
    expect(parseManifest(JSON.stringify(ociIndex)).kind).toBe("oci-index");
    expect(parseManifest(JSON.stringify(ociIndex), `${OCI_INDEX}; charset=utf-8`).mediaType).toBe(
      OCI_INDEX,
    );
    expect(parseManifest(JSON.stringify({ schemaVersion: 2, config, layers: [] })).kind).toBe(
      "oci-manifest",
    );
    const docker = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { ...config, mediaType: DOCKER_CONFIG },
      layers: [{ ...layer, mediaType: DOCKER_LAYER_GZIP }],
    };
    expect(parseManifest(Buffer.from(JSON.stringify(docker))).kind).toBe("docker-manifest");
    const list = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: [{ ...config, mediaType: DOCKER_MANIFEST }],
    };
    const parsedList = parseManifest(JSON.stringify(list), DOCKER_MANIFEST_LIST);
    expect(parsedList.kind).toBe("docker-manifest-list");
    expect(childManifestsOf(parsedList)).toHaveLength(1);
  });

  it.each([
    ["not JSON", "{", undefined, /not JSON/],
    ["an array", "[]", undefined, /not a JSON object/],
    ["an unknown kind", "{}", undefined, /cannot tell/],
    [
      "a bad digest",
      JSON.stringify({ schemaVersion: 2, config: { ...config, digest: "sha256:x" }, layers: [] }),
      undefined,
      /config\.digest/,
    ],
    [
      "a wrong schemaVersion",
      JSON.stringify({ schemaVersion: 3, config, layers: [] }),
      undefined,
      /schemaVersion/,
    ],
    [
      "a Content-Type mismatch",
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] }),
      OCI_INDEX,
      /does not match/,
    ],
  ])("refuses %s with MANIFEST_INVALID", (_name, bytes, contentType, reason) => {
    const error = caught(() => parseManifest(bytes, contentType));
    expect(RegistryError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "MANIFEST_INVALID", status: 400 });
    expect(JSON.stringify((error as { detail: unknown }).detail)).toMatch(reason);
  });

  it("refuses schema 1 with a clear message (ADR 0004)", () => {
    const error = caught(() =>
      parseManifest(
        JSON.stringify({ schemaVersion: 1, name: "x", fsLayers: [] }),
        DOCKER_SCHEMA1_SIGNED_MANIFEST,
      ),
    );
    expect(error).toMatchObject({
      code: "MANIFEST_INVALID",
      message: "Docker schema 1 manifests are not supported",
    });
  });
});
