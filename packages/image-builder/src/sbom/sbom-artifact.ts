// The SBOM as an OCI artifact: an image manifest with `artifactType` application/spdx+json, the
// empty config, the document as its one layer, and `subject` = the image index, so the referrers
// API (or the fallback tag `sha256-<index hex>`) of a registry lists it next to the image.
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidelines-for-artifact-usage
import { OCI_EMPTY, OCI_MANIFEST } from "@regmirror/oci-distribution";
import { type Blob, descriptorOf, jsonBlob, type OciDescriptor } from "../oci/image-documents.js";
import { spdxMediaType } from "./spdx-document.js";

export interface SbomArtifact {
  document: Blob;
  emptyConfig: Blob;
  manifest: Blob;
}

export function sbomArtifact(options: {
  document: unknown;
  fileName: string;
  subject: OciDescriptor;
  created: string;
}): SbomArtifact {
  const document = jsonBlob(spdxMediaType, options.document);
  const emptyConfig = jsonBlob(OCI_EMPTY, {});
  const manifest = jsonBlob(OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: spdxMediaType,
    config: { ...descriptorOf(emptyConfig), data: emptyConfig.bytes.toString("base64") },
    layers: [
      descriptorOf(document, {
        annotations: { "org.opencontainers.image.title": options.fileName },
      }),
    ],
    subject: {
      mediaType: options.subject.mediaType,
      digest: options.subject.digest,
      size: options.subject.size,
    },
    annotations: { "org.opencontainers.image.created": options.created },
  });
  return { document, emptyConfig, manifest };
}
