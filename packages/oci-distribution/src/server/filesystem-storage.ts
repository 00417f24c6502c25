/**
 * A RegistryStorage on a local directory, crash-safe by construction: every file appears by
 * an atomic rename once complete, blobs are verified against their digest before they appear.
 *
 *   blobs/<algorithm>/<hex>                               content (blobs and manifests)
 *   repositories/<name>/_layers/<algorithm>/<hex>         the repository may read this blob
 *   repositories/<name>/_manifests/revisions/<algorithm>/<hex>   the manifest's media type
 *   repositories/<name>/_manifests/tags/<tag>             the digest the tag points at
 *   repositories/<name>/_referrers/<subject>/<referrer>   a referrer's descriptor (JSON)
 *   uploads/<id>/data, uploads/<id>/repository            upload sessions
 *   tmp/                                                  files being written
 *
 * Repository names are validated by the server before they get here; path segments of valid
 * names never start with `_` or `.`, so they cannot collide with these directories.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { type ByteRange, createDigester, parseDigest } from "@regmirror/core";
import { RegistryError } from "../model/errors.js";
import type { Descriptor } from "../model/manifest.js";
import { isValidRepositoryName, isValidTag } from "../model/reference.js";
import type {
  ManifestWrite,
  RegistryStorage,
  StoredManifest,
  StreamedBlob,
} from "./registry-storage.js";

export interface FilesystemStorageOptions {
  rootDirectory: string;
  readOnly?: boolean;
}

export interface FilesystemStorage extends RegistryStorage {
  readonly rootDirectory: string;
  close(): Promise<void>;
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

async function orUndefined<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** `sha256:abc` → `sha256/abc` (the digest is validated by the server first). */
function digestPath(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return join(algorithm, encoded);
}

function digestFileName(digest: string): string {
  return digest.replace(":", "-");
}

export function createFilesystemStorage(options: FilesystemStorageOptions): FilesystemStorage {
  const root = options.rootDirectory;
  const blobPath = (digest: string) => join(root, "blobs", digestPath(digest));
  // Names become paths: check them here too, in case the storage is used without the server.
  const repositoryPath = (name: string) => {
    if (!isValidRepositoryName(name)) throw new RegistryError("NAME_INVALID");
    return join(root, "repositories", ...name.split("/"));
  };
  const layerLinkPath = (name: string, digest: string) =>
    join(repositoryPath(name), "_layers", digestPath(digest));
  const revisionPath = (name: string, digest: string) =>
    join(repositoryPath(name), "_manifests", "revisions", digestPath(digest));
  const tagPath = (name: string, tag: string) => {
    if (!isValidTag(tag)) throw new RegistryError("MANIFEST_INVALID", { message: "invalid tag" });
    return join(repositoryPath(name), "_manifests", "tags", tag);
  };
  const referrersPath = (name: string, subject: string) =>
    join(repositoryPath(name), "_referrers", digestFileName(subject));
  const uploadPath = (id: string) => {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
    return join(root, "uploads", id);
  };

  /** Writes a small file atomically (temp file, then rename). */
  async function writeAtomically(path: string, content: string | Uint8Array): Promise<void> {
    await mkdir(join(path, ".."), { recursive: true });
    await mkdir(join(root, "tmp"), { recursive: true });
    const temporary = join(root, "tmp", randomUUID());
    await writeFile(temporary, content);
    await rename(temporary, path);
  }

  async function hasBlobLink(repository: string, digest: string): Promise<boolean> {
    return (await orUndefined(stat(layerLinkPath(repository, digest)))) !== undefined;
  }

  async function blobSize(digest: string): Promise<number | undefined> {
    return (await orUndefined(stat(blobPath(digest))))?.size;
  }

  async function uploadRepository(id: string): Promise<string | undefined> {
    return orUndefined(readFile(join(uploadPath(id), "repository"), "utf8"));
  }

  async function requireUpload(repository: string, id: string): Promise<string> {
    if ((await uploadRepository(id)) !== repository) throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
    return join(uploadPath(id), "data");
  }

  async function readTag(repository: string, tag: string): Promise<string | undefined> {
    return (await orUndefined(readFile(tagPath(repository, tag), "utf8")))?.trim();
  }

  async function listFiles(directory: string): Promise<string[]> {
    return (await orUndefined(readdir(directory))) ?? [];
  }

  async function findRepositories(
    directory: string,
    prefix: string,
    found: string[],
  ): Promise<void> {
    const entries = (await orUndefined(readdir(directory, { withFileTypes: true }))) ?? [];
    if (
      entries.some((entry) => entry.name === "_manifests" || entry.name === "_layers") &&
      prefix !== ""
    ) {
      found.push(prefix);
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith("_")) continue;
      const name = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      if (isValidRepositoryName(name))
        await findRepositories(join(directory, entry.name), name, found);
    }
  }

  return {
    rootDirectory: root,
    readOnly: options.readOnly ?? false,

    async statBlob(repository, digest) {
      if (!(await hasBlobLink(repository, digest))) return undefined;
      const size = await blobSize(digest);
      return size === undefined ? undefined : { digest, size };
    },

    async openBlob(repository, digest, range?: ByteRange): Promise<StreamedBlob | undefined> {
      if (!(await hasBlobLink(repository, digest))) return undefined;
      const handle = await orUndefined(open(blobPath(digest), "r"));
      if (handle === undefined) return undefined;
      const { size } = await handle.stat();
      const stream = createReadStream("", { fd: handle, start: range?.start, end: range?.end });
      return { digest, size, stream };
    },

    async deleteBlob(repository, digest) {
      if (!(await hasBlobLink(repository, digest))) return false;
      // The content stays for other repositories; only this repository's link goes.
      await rm(layerLinkPath(repository, digest), { force: true });
      return true;
    },

    async mountBlob(repository, fromRepository, digest) {
      if (!(await hasBlobLink(fromRepository, digest))) return undefined;
      const size = await blobSize(digest);
      if (size === undefined) return undefined;
      await writeAtomically(layerLinkPath(repository, digest), "");
      return { digest, size };
    },

    async createUpload(repository) {
      const id = randomUUID();
      await mkdir(uploadPath(id), { recursive: true });
      await writeFile(join(uploadPath(id), "data"), "");
      await writeFile(join(uploadPath(id), "repository"), repository);
      return { id };
    },

    async uploadStatus(repository, id) {
      if ((await uploadRepository(id)) !== repository) return undefined;
      const info = await orUndefined(stat(join(uploadPath(id), "data")));
      return info === undefined ? undefined : { size: info.size };
    },

    async appendUpload(repository, id, data) {
      const path = await requireUpload(repository, id);
      const before = (await stat(path)).size;
      try {
        await pipeline(data, createWriteStream(path, { flags: "a" }));
      } catch (error) {
        // Leave the session as it was before this chunk.
        await truncate(path, before).catch(() => {});
        throw error;
      }
      return { size: (await stat(path)).size };
    },

    async completeUpload(repository, id, digest) {
      const path = await requireUpload(repository, id);
      const digester = createDigester(parseDigest(digest).algorithm);
      for await (const chunk of createReadStream(path)) digester.update(chunk as Buffer);
      if (digester.digest() !== digest) {
        await rm(uploadPath(id), { recursive: true, force: true });
        throw new RegistryError("DIGEST_INVALID", {
          detail: { reason: "the uploaded content has another digest" },
        });
      }
      const target = blobPath(digest);
      await mkdir(join(target, ".."), { recursive: true });
      await rename(path, target);
      await rm(uploadPath(id), { recursive: true, force: true });
      await writeAtomically(layerLinkPath(repository, digest), "");
      return { digest, size: digester.bytes };
    },

    async cancelUpload(repository, id) {
      if ((await uploadRepository(id)) !== repository) return false;
      await rm(uploadPath(id), { recursive: true, force: true });
      return true;
    },

    async getManifest(repository, reference): Promise<StoredManifest | undefined> {
      const digest = reference.includes(":") ? reference : await readTag(repository, reference);
      if (digest === undefined) return undefined;
      const mediaType = await orUndefined(readFile(revisionPath(repository, digest), "utf8"));
      if (mediaType === undefined) return undefined;
      const bytes = await orUndefined(readFile(blobPath(digest)));
      return bytes === undefined ? undefined : { digest, mediaType, bytes };
    },

    async putManifest(repository, manifest: ManifestWrite) {
      await writeAtomically(blobPath(manifest.digest), manifest.bytes);
      await writeAtomically(revisionPath(repository, manifest.digest), manifest.mediaType);
      if (manifest.referrer !== undefined) {
        const { subject, descriptor } = manifest.referrer;
        await writeAtomically(
          join(referrersPath(repository, subject), digestFileName(descriptor.digest)),
          JSON.stringify(descriptor),
        );
        await writeAtomically(
          join(repositoryPath(repository), "_subjects", digestFileName(descriptor.digest)),
          subject,
        );
      }
      if (manifest.tag !== undefined)
        await writeAtomically(tagPath(repository, manifest.tag), manifest.digest);
    },

    async deleteManifest(repository, digest) {
      const revision = revisionPath(repository, digest);
      if ((await orUndefined(stat(revision))) === undefined) return false;
      await rm(revision, { force: true });
      const tagsDirectory = join(repositoryPath(repository), "_manifests", "tags");
      for (const tag of await listFiles(tagsDirectory)) {
        if ((await readTag(repository, tag)) === digest)
          await rm(tagPath(repository, tag), { force: true });
      }
      const subjectFile = join(repositoryPath(repository), "_subjects", digestFileName(digest));
      const subject = await orUndefined(readFile(subjectFile, "utf8"));
      if (subject !== undefined) {
        await rm(join(referrersPath(repository, subject), digestFileName(digest)), { force: true });
        await rm(subjectFile, { force: true });
      }
      return true;
    },

    async deleteTag(repository, tag) {
      if ((await readTag(repository, tag)) === undefined) return false;
      await rm(tagPath(repository, tag), { force: true });
      return true;
    },

    async listTags(repository) {
      if ((await orUndefined(stat(repositoryPath(repository)))) === undefined) return undefined;
      return listFiles(join(repositoryPath(repository), "_manifests", "tags"));
    },

    async listRepositories() {
      const found: string[] = [];
      await findRepositories(join(root, "repositories"), "", found);
      return found;
    },

    async listReferrers(repository, digest) {
      const directory = referrersPath(repository, digest);
      const descriptors: Descriptor[] = [];
      for (const name of await listFiles(directory)) {
        const text = await orUndefined(readFile(join(directory, name), "utf8"));
        if (text !== undefined) descriptors.push(JSON.parse(text) as Descriptor);
      }
      return descriptors;
    },

    async close() {},
  };
}
