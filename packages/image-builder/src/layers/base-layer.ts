// The layer every image starts from: glibc and the C++ runtime Node links against, CA
// certificates, the users, and a dpkg status so scanners see the Debian packages. No shell, no
// package manager, no other program.

import { debianDataTar } from "../inputs/debian-archive.js";
import type { DebianPackageFile } from "../inputs/resolve-inputs.js";
import { directoryEntry, fileEntry, type LayerEntry } from "../tar/layer-entry.js";
import { readTar } from "../tar/tar-reader.js";

/** The Debian packages inside every image (gcc-12-base only for the copyright of the gcc libraries). */
export const debianPackageNames = [
  { name: "libc6", architectureIndependent: false },
  { name: "libgcc-s1", architectureIndependent: false },
  { name: "libstdc++6", architectureIndependent: false },
  { name: "libatomic1", architectureIndependent: false },
  { name: "gcc-12-base", architectureIndependent: false },
  { name: "ca-certificates", architectureIndependent: true },
] as const;

/** The unprivileged user the images run as (distroless's `nonroot`). */
export const nonRootId = 65532;

const debianVersions: Record<string, string> = { bookworm: "12", trixie: "13" };

/**
 * What the image keeps of a library package: its shared objects and their links, and its
 * copyright. glibc's gconv modules (iconv character sets, 8 MB on arm64) are left out: Node
 * converts text with ICU.
 */
function keepFromLibraryPackage(entry: LayerEntry): boolean {
  if (entry.type === "directory") return false; // recreated with fixed modes as parents
  const { path } = entry;
  if (/^(lib|lib64|usr\/lib)\//.test(path)) return !path.includes("/gconv/");
  if (/^usr\/share\/doc\/[^/]+\/copyright$/.test(path)) return true;
  return entry.type === "symlink" && /^usr\/share\/doc\/[^/]+$/.test(path);
}

/** update-ca-certificates' result: every Mozilla certificate of the package, in name order. */
function caBundle(entries: LayerEntry[]): Buffer {
  const certificates = entries
    .filter(
      (entry) =>
        entry.type === "file" &&
        /^usr\/share\/ca-certificates\/mozilla\/[^/]+\.crt$/.test(entry.path),
    )
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((entry) => {
      const text = (entry.content ?? Buffer.alloc(0)).toString("utf8");
      return text.endsWith("\n") ? text : `${text}\n`;
    });
  if (certificates.length === 0) throw new Error("ca-certificates holds no Mozilla certificates");
  return Buffer.from(certificates.join(""), "utf8");
}

function osRelease(release: string): string {
  const version = debianVersions[release];
  return [
    'PRETTY_NAME="regmirror (Debian GNU/Linux libraries)"',
    'NAME="Debian GNU/Linux"',
    'ID="debian"',
    ...(version ? [`VERSION_ID="${version}"`, `VERSION="${version} (${release})"`] : []),
    `VERSION_CODENAME=${release}`,
    'HOME_URL="https://github.com/regmirror/regmirror"',
    "",
  ].join("\n");
}

export async function baseLayerEntries(
  packages: readonly DebianPackageFile[],
  release: string,
): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [
    fileEntry(
      "etc/passwd",
      `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${nonRootId}:${nonRootId}:nonroot:/home/nonroot:/sbin/nologin\n`,
    ),
    fileEntry("etc/group", `root:x:0:\nnonroot:x:${nonRootId}:\n`),
    fileEntry("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n"),
    fileEntry("etc/os-release", osRelease(release)),
    directoryEntry("root", 0o700),
    directoryEntry("home/nonroot", 0o700, nonRootId),
    directoryEntry("tmp", 0o1777),
    // Mount points the runtime fills; present, so a read-only root needs no directory made.
    directoryEntry("dev"),
    directoryEntry("proc", 0o555),
    directoryEntry("sys", 0o555),
  ];
  for (const debianPackage of packages) {
    const files = readTar(await debianDataTar(debianPackage.path), debianPackage.path).map(
      (entry) => ({ ...entry, uid: 0, gid: 0 }),
    );
    if (debianPackage.name === "ca-certificates") {
      entries.push(fileEntry("etc/ssl/certs/ca-certificates.crt", caBundle(files)));
      entries.push(
        ...files.filter((entry) => entry.path === "usr/share/doc/ca-certificates/copyright"),
      );
    } else {
      entries.push(...files.filter(keepFromLibraryPackage));
    }
    // distroless's convention, read by Trivy, Grype and Syft: one control file per package.
    entries.push(fileEntry(`var/lib/dpkg/status.d/${debianPackage.name}`, debianPackage.control));
  }
  return entries;
}
