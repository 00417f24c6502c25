// Media types of the images the bench seeds, and what clients send as Accept for manifests.
export const ociManifest = "application/vnd.oci.image.manifest.v1+json";
export const ociConfig = "application/vnd.oci.image.config.v1+json";
export const ociLayer = "application/vnd.oci.image.layer.v1.tar";
export const manifestAccept = [
  ociManifest,
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");
