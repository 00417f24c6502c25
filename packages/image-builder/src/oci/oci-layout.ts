// An OCI image layout (https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md)
// and its tar, which `ctr images import`, `docker load` (Docker 25+), `podman load` and
// `skopeo copy oci-archive:` read.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { copyFile, link, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { OCI_INDEX } from "@regmirror/oci-distribution";
import { fileEntry, type LayerEntry } from "../tar/layer-entry.js";
import { tarChunks } from "../tar/tar-writer.js";
import type { Blob, OciDescriptor } from "./image-documents.js";

export function blobDirectoryOf(layoutDirectory: string): string {
  return join(layoutDirectory, "blobs", "sha256");
}

export function blobPath(layoutDirectory: string, digest: string): string {
  return join(blobDirectoryOf(layoutDirectory), digest.replace(/^sha256:/, ""));
}

export async function createLayoutDirectory(layoutDirectory: string): Promise<void> {
  await mkdir(blobDirectoryOf(layoutDirectory), { recursive: true });
  await writeFile(
    join(layoutDirectory, "oci-layout"),
    JSON.stringify({ imageLayoutVersion: "1.0.0" }),
  );
}

export async function writeBlob(layoutDirectory: string, blob: Blob): Promise<void> {
  await writeFile(blobPath(layoutDirectory, blob.digest), blob.bytes);
}

/** Puts a blob another layout holds into this one: a hard link, else a copy. */
export async function shareBlob(
  fromLayout: string,
  toLayout: string,
  digest: string,
): Promise<void> {
  const source = blobPath(fromLayout, digest);
  const target = blobPath(toLayout, digest);
  try {
    await link(source, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return;
    const temporary = `${target}.copy-${process.pid}`;
    await copyFile(source, temporary);
    await rename(temporary, target);
  }
}

/**
 * index.json naming the image twice, as containerd and Docker do: the full name for
 * `ctr images import` and `docker load`, the tag for `skopeo copy oci-archive:FILE:TAG`.
 */
export async function writeLayoutIndex(
  layoutDirectory: string,
  image: OciDescriptor,
  fullName: string,
  tag: string,
): Promise<void> {
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: image.mediaType,
        digest: image.digest,
        size: image.size,
        annotations: {
          "io.containerd.image.name": fullName,
          "org.opencontainers.image.ref.name": tag,
        },
      },
    ],
  };
  await writeFile(join(layoutDirectory, "index.json"), JSON.stringify(index));
}

/** The layout as one reproducible tar (sorted, dated `epoch`, owned by root); returns its sha256. */
export async function writeLayoutArchive(
  layoutDirectory: string,
  archivePath: string,
  epoch: number,
): Promise<string> {
  const entries: LayerEntry[] = [
    fileEntry("oci-layout", await readFile(join(layoutDirectory, "oci-layout"))),
    fileEntry("index.json", await readFile(join(layoutDirectory, "index.json"))),
  ];
  const blobDirectory = blobDirectoryOf(layoutDirectory);
  for (const name of (await readdir(blobDirectory)).sort()) {
    if (name.startsWith(".")) continue;
    entries.push(fileEntry(`blobs/sha256/${name}`, await readFile(join(blobDirectory, name))));
  }
  const hash = createHash("sha256");
  const temporary = `${archivePath}.partial-${process.pid}`;
  await pipeline(
    Readable.from(
      (function* () {
        for (const chunk of tarChunks(entries, epoch)) {
          hash.update(chunk);
          yield chunk;
        }
      })(),
    ),
    createWriteStream(temporary),
  );
  await rename(temporary, archivePath);
  return `sha256:${hash.digest("hex")}`;
}
