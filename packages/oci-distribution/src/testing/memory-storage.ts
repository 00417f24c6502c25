/**
 * A RegistryStorage that keeps everything in memory: for tests, examples and small embedded
 * registries. Blobs are shared by digest; each repository sees only the blobs pushed or
 * mounted into it.
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { type BlobStat, type ByteRange, computeDigest, parseDigest } from "@regmirror/core";
import { RegistryError } from "../model/errors.js";
import type { Descriptor } from "../model/manifest.js";
import type {
  ManifestWrite,
  RegistryStorage,
  StoredManifest,
  StreamedBlob,
  UploadSessionStatus,
} from "../server/registry-storage.js";

interface MemoryRepository {
  blobs: Set<string>;
  manifests: Map<string, StoredManifest>;
  tags: Map<string, string>;
  /** subject digest → referrer digest → descriptor */
  referrers: Map<string, Map<string, Descriptor>>;
  /** referrer digest → subject digest, to clean up on delete */
  subjectOf: Map<string, string>;
}

interface MemoryUpload {
  repository: string;
  chunks: Buffer[];
  size: number;
}

export interface MemoryStorageOptions {
  /** Answer every push and delete with UNSUPPORTED. */
  readOnly?: boolean;
}

export interface MemoryStorage extends RegistryStorage {
  /** Bytes held in blobs (manifests not counted). */
  blobBytes(): number;
  close(): Promise<void>;
}

export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const blobs = new Map<string, Buffer>();
  const repositories = new Map<string, MemoryRepository>();
  const uploads = new Map<string, MemoryUpload>();

  function repositoryOf(name: string, create: true): MemoryRepository;
  function repositoryOf(name: string, create?: false): MemoryRepository | undefined;
  function repositoryOf(name: string, create = false): MemoryRepository | undefined {
    let repository = repositories.get(name);
    if (repository === undefined && create) {
      repository = {
        blobs: new Set(),
        manifests: new Map(),
        tags: new Map(),
        referrers: new Map(),
        subjectOf: new Map(),
      };
      repositories.set(name, repository);
    }
    return repository;
  }

  function blobInfo(repository: string, digest: string): BlobStat | undefined {
    const bytes = blobs.get(digest);
    if (bytes === undefined || !repositoryOf(repository)?.blobs.has(digest)) return undefined;
    return { digest, size: bytes.byteLength };
  }

  function dropUnusedBlob(digest: string): void {
    for (const repository of repositories.values()) if (repository.blobs.has(digest)) return;
    blobs.delete(digest);
  }

  function removeManifest(repository: MemoryRepository, digest: string): boolean {
    if (!repository.manifests.delete(digest)) return false;
    for (const [tag, target] of repository.tags) if (target === digest) repository.tags.delete(tag);
    const subject = repository.subjectOf.get(digest);
    if (subject !== undefined) {
      repository.referrers.get(subject)?.delete(digest);
      repository.subjectOf.delete(digest);
    }
    return true;
  }

  function upload(repository: string, id: string): MemoryUpload | undefined {
    const session = uploads.get(id);
    return session?.repository === repository ? session : undefined;
  }

  return {
    readOnly: options.readOnly ?? false,

    async statBlob(repository, digest) {
      return blobInfo(repository, digest);
    },

    async openBlob(repository, digest, range?: ByteRange): Promise<StreamedBlob | undefined> {
      const info = blobInfo(repository, digest);
      const bytes = blobs.get(digest);
      if (info === undefined || bytes === undefined) return undefined;
      const slice =
        range === undefined
          ? bytes
          : bytes.subarray(range.start, (range.end ?? bytes.byteLength - 1) + 1);
      return { ...info, stream: Readable.from([slice]) };
    },

    async deleteBlob(repository, digest) {
      const deleted = repositoryOf(repository)?.blobs.delete(digest) ?? false;
      if (deleted) dropUnusedBlob(digest);
      return deleted;
    },

    async mountBlob(repository, fromRepository, digest) {
      if (blobInfo(fromRepository, digest) === undefined) return undefined;
      repositoryOf(repository, true).blobs.add(digest);
      return blobInfo(repository, digest);
    },

    async createUpload(repository) {
      const id = randomUUID();
      uploads.set(id, { repository, chunks: [], size: 0 });
      return { id };
    },

    async uploadStatus(repository, id): Promise<UploadSessionStatus | undefined> {
      const session = upload(repository, id);
      return session === undefined ? undefined : { size: session.size };
    },

    async appendUpload(repository, id, data) {
      const session = upload(repository, id);
      if (session === undefined) throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
      // Collect first, so a stream that fails halfway leaves the session as it was.
      const received: Buffer[] = [];
      let size = 0;
      for await (const chunk of data) {
        received.push(chunk as Buffer);
        size += (chunk as Buffer).byteLength;
      }
      session.chunks.push(...received);
      session.size += size;
      return { size: session.size };
    },

    async completeUpload(repository, id, digest) {
      const session = upload(repository, id);
      if (session === undefined) throw new RegistryError("BLOB_UPLOAD_UNKNOWN");
      uploads.delete(id);
      const bytes = Buffer.concat(session.chunks, session.size);
      const actual = computeDigest(bytes, parseDigest(digest).algorithm);
      if (actual !== digest) {
        throw new RegistryError("DIGEST_INVALID", {
          detail: { reason: "the uploaded content has another digest" },
        });
      }
      if (!blobs.has(digest)) blobs.set(digest, bytes);
      repositoryOf(repository, true).blobs.add(digest);
      return { digest, size: bytes.byteLength };
    },

    async cancelUpload(repository, id) {
      if (upload(repository, id) === undefined) return false;
      return uploads.delete(id);
    },

    async getManifest(repository, reference) {
      const stored = repositoryOf(repository);
      if (stored === undefined) return undefined;
      const digest = reference.includes(":") ? reference : stored.tags.get(reference);
      return digest === undefined ? undefined : stored.manifests.get(digest);
    },

    async putManifest(repository, manifest: ManifestWrite) {
      const stored = repositoryOf(repository, true);
      stored.manifests.set(manifest.digest, {
        digest: manifest.digest,
        mediaType: manifest.mediaType,
        bytes: Buffer.from(manifest.bytes),
      });
      if (manifest.tag !== undefined) stored.tags.set(manifest.tag, manifest.digest);
      if (manifest.referrer !== undefined) {
        const { subject, descriptor } = manifest.referrer;
        let list = stored.referrers.get(subject);
        if (list === undefined) {
          list = new Map();
          stored.referrers.set(subject, list);
        }
        list.set(descriptor.digest, descriptor);
        stored.subjectOf.set(descriptor.digest, subject);
      }
    },

    async deleteManifest(repository, digest) {
      const stored = repositoryOf(repository);
      return stored === undefined ? false : removeManifest(stored, digest);
    },

    async deleteTag(repository, tag) {
      return repositoryOf(repository)?.tags.delete(tag) ?? false;
    },

    async listTags(repository) {
      const stored = repositoryOf(repository);
      return stored === undefined ? undefined : [...stored.tags.keys()];
    },

    async listRepositories() {
      return [...repositories.keys()];
    },

    async listReferrers(repository, digest) {
      return [...(repositoryOf(repository)?.referrers.get(digest)?.values() ?? [])];
    },

    blobBytes() {
      let total = 0;
      for (const bytes of blobs.values()) total += bytes.byteLength;
      return total;
    },

    async close() {
      uploads.clear();
    },
  };
}
