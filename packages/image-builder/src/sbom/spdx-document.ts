// The image's software bill of materials as an SPDX 2.3 JSON document: the npm packages bundled
// into the app, Node's tarball and the Debian packages of every platform, each with a package URL
// (purl) so scanners can match them. https://spdx.github.io/spdx-spec/v2.3/
import type { BundledPackage } from "../layers/app-bundle.js";
import { type ImagePlatform, platformNames } from "../platforms.js";
import { isoTime, sourceRepositoryUrl } from "../source-metadata.js";

export const spdxMediaType = "application/spdx+json";

export interface SbomInputs {
  imageName: string;
  version: string;
  revision: string | undefined;
  epoch: number;
  /** The image index the document describes (its subject). */
  indexDigest: string;
  npmPackages: readonly BundledPackage[];
  platforms: readonly {
    platform: ImagePlatform;
    nodePackage: string;
    nodeVersion: string;
    debianPackages: readonly {
      name: string;
      version: string;
      architecture: string;
      sha256: string;
    }[];
  }[];
  debianRelease: string;
}

interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo: string;
  supplier?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  primaryPackagePurpose?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
  comment?: string;
}

function spdxId(...parts: string[]): string {
  return `SPDXRef-${parts.join("-").replace(/[^A-Za-z0-9.-]/g, "-")}`;
}

function purlRef(locator: string) {
  return [
    { referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: locator },
  ];
}

/** `@scope/name` → `%40scope/name`, as the purl spec encodes npm scopes. */
function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, "%40")}@${encodeURIComponent(version)}`;
}

function npmPackage(bundled: BundledPackage, revision: string | undefined): SpdxPackage {
  const base = bundled.name.split("/").pop() ?? bundled.name;
  return {
    name: bundled.name,
    SPDXID: spdxId("npm", bundled.name, bundled.version),
    versionInfo: bundled.version,
    downloadLocation: bundled.workspace
      ? `git+${sourceRepositoryUrl}.git${revision ? `@${revision}` : ""}`
      : `https://registry.npmjs.org/${bundled.name}/-/${base}-${bundled.version}.tgz`,
    filesAnalyzed: false,
    licenseConcluded: "NOASSERTION",
    licenseDeclared: bundled.license ?? "NOASSERTION",
    copyrightText: "NOASSERTION",
    primaryPackagePurpose: "LIBRARY",
    externalRefs: purlRef(npmPurl(bundled.name, bundled.version)),
    ...(bundled.workspace
      ? { comment: "a workspace of the regmirror repository, bundled from source" }
      : {}),
  };
}

export function spdxDocument(inputs: SbomInputs): unknown {
  const imageId = spdxId("Image", inputs.imageName);
  const image: SpdxPackage = {
    name: inputs.imageName,
    SPDXID: imageId,
    versionInfo: inputs.version,
    supplier: "Organization: regmirror",
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    licenseConcluded: "NOASSERTION",
    licenseDeclared: "Apache-2.0",
    copyrightText: "NOASSERTION",
    primaryPackagePurpose: "CONTAINER",
    externalRefs: purlRef(`pkg:oci/${inputs.imageName}@${encodeURIComponent(inputs.indexDigest)}`),
  };
  const packages: SpdxPackage[] = inputs.npmPackages.map((bundled) =>
    npmPackage(bundled, inputs.revision),
  );
  for (const platform of inputs.platforms) {
    const architecture = platformNames[platform.platform].architecture;
    packages.push({
      name: platform.nodePackage,
      SPDXID: spdxId("npm", platform.nodePackage, platform.nodeVersion),
      versionInfo: platform.nodeVersion,
      supplier: "Organization: OpenJS Foundation",
      downloadLocation: `https://registry.npmjs.org/${platform.nodePackage}/-/${platform.nodePackage}-${platform.nodeVersion}.tgz`,
      filesAnalyzed: false,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "MIT",
      copyrightText: "NOASSERTION",
      primaryPackagePurpose: "APPLICATION",
      externalRefs: purlRef(npmPurl(platform.nodePackage, platform.nodeVersion)),
      comment: `Node.js ${platform.nodeVersion} for linux/${architecture}: bin/node and LICENSE`,
    });
    for (const deb of platform.debianPackages) {
      const qualifiers = `arch=${deb.architecture}&distro=debian-${inputs.debianRelease}`;
      packages.push({
        name: deb.name,
        SPDXID: spdxId("deb", deb.architecture, deb.name, deb.version),
        versionInfo: deb.version,
        supplier: "Organization: Debian",
        downloadLocation: "NOASSERTION",
        filesAnalyzed: false,
        licenseConcluded: "NOASSERTION",
        licenseDeclared: "NOASSERTION",
        copyrightText: "NOASSERTION",
        primaryPackagePurpose: "LIBRARY",
        checksums: [{ algorithm: "SHA256", checksumValue: deb.sha256 }],
        externalRefs: purlRef(
          `pkg:deb/debian/${deb.name}@${encodeURIComponent(deb.version)}?${qualifiers}`,
        ),
        comment:
          deb.architecture === "all"
            ? "in the image of every platform"
            : `in the linux/${architecture} image`,
      });
    }
  }
  // Architecture-independent packages (ca-certificates) come once per platform: keep one.
  const unique = [...new Map(packages.map((entry) => [entry.SPDXID, entry])).values()];
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: `${inputs.imageName}-${inputs.version}`,
    documentNamespace: `${sourceRepositoryUrl}/spdx/${inputs.imageName}/${inputs.indexDigest}`,
    creationInfo: {
      created: isoTime(inputs.epoch),
      creators: ["Tool: regmirror-image-builder", "Organization: regmirror"],
    },
    documentDescribes: [imageId],
    packages: [image, ...unique],
    relationships: unique.map((entry) => ({
      spdxElementId: imageId,
      relationshipType: "CONTAINS",
      relatedSpdxElement: entry.SPDXID,
    })),
  };
}
