/**
 * Blob uploads (distribution spec "Pushing blobs"):
 * - monolithic: POST opens a session, PUT `?digest=` sends the bytes;
 * - chunked: PATCH with Content-Range per chunk (following each new Location), then PUT;
 * - cross-repository mount: POST `?mount=&from=` answers 201 (mounted) or 202 (an ordinary
 *   upload session, which the push then uses).
 * An upload is never sent again blindly: only bytes held in memory are pushed again, after a
 * HEAD has shown the blob is still missing, and always in a new session.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-blobs
 */

import type { Logger } from "@regmirror/core";
import { computeDigest, createDigester, DigestMismatchError, parseDigest } from "@regmirror/core";
import { RegistryError } from "../model/errors.js";
import { HEADER_CONTENT_DIGEST, HEADER_OCI_CHUNK_MIN_LENGTH } from "../model/media-types.js";
import type { BlobDescriptor } from "./blob-download.js";
import { RegistryClientError } from "./client-errors.js";
import { type HttpResponse, headerValue } from "./http-transport.js";
import { checkDigest, checkRepository } from "./input-checks.js";
import { redactUrl } from "./redact-url.js";
import { repositoryScope } from "./registry-auth.js";
import type { RegistrySession } from "./registry-session.js";
import { type ResolvedRetryOptions, retryDelay, sleep } from "./retry.js";

export type BlobContent = Uint8Array | AsyncIterable<Uint8Array>;

export interface PushBlobOptions {
  /** Required to mount or to skip a blob the registry has; computed for in-memory content. */
  digest?: string;
  /** Send in PATCH chunks of this many bytes (streams always are; default 8 MiB). */
  chunkSize?: number;
  /** Try a cross-repository mount from this repository of the same registry first (needs `digest` for a stream). */
  mountFrom?: string;
  signal?: AbortSignal;
}

export interface PushBlobResult extends BlobDescriptor {
  /** "exists": the registry had it; "mounted": cross-repository mount; "uploaded": bytes sent. */
  outcome: "exists" | "mounted" | "uploaded";
}

const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

/** Cuts a byte stream into chunks of exactly `size` bytes (the last may be shorter). */
export async function* fixedSizeChunks(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: number,
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    pending.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    pendingBytes += piece.byteLength;
    while (pendingBytes >= size) {
      const joined = Buffer.concat(pending, pendingBytes);
      yield joined.subarray(0, size);
      const rest = joined.subarray(size);
      pending = rest.byteLength > 0 ? [rest] : [];
      pendingBytes = rest.byteLength;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/**
 * A stream the push did not need (the registry had the blob or mounted it) is destroyed, so
 * it does not hold its connection (e.g. a `getBlob` stream of another registry) open.
 */
function releaseUnread(content: BlobContent): void {
  const stream = content as { destroy?: unknown; readableEnded?: boolean };
  if (typeof stream.destroy === "function" && stream.readableEnded !== true) {
    (stream.destroy as () => void).call(content);
  }
}

export function createBlobUploads(
  session: RegistrySession,
  deps: {
    retry: ResolvedRetryOptions;
    logger: Logger;
    headBlob: (
      repository: string,
      digest: string,
      options: { signal?: AbortSignal },
    ) => Promise<BlobDescriptor>;
  },
) {
  const { retry, logger, headBlob } = deps;

  async function existingBlob(repository: string, digest: string, signal: AbortSignal | undefined) {
    try {
      return await headBlob(repository, digest, signal ? { signal } : {});
    } catch (error) {
      if (RegistryError.isInstance(error) && error.status === 404) return undefined;
      throw error;
    }
  }

  function nextLocation(response: HttpResponse): URL {
    const location = headerValue(response.headers, "location");
    if (location === undefined) {
      throw new RegistryClientError(
        "INVALID_RESPONSE",
        `${redactUrl(response.url)}: upload answer without a Location header`,
      );
    }
    return new URL(location, response.url);
  }

  async function uploadOnce(
    repository: string,
    content: BlobContent,
    options: PushBlobOptions,
  ): Promise<PushBlobResult> {
    const { signal } = options;
    const scopes = [repositoryScope(repository, ["pull", "push"])];
    const start = new URL(`/v2/${repository}/blobs/uploads/`, session.baseUrl);
    if (options.mountFrom !== undefined && options.digest !== undefined) {
      start.searchParams.set("mount", options.digest);
      start.searchParams.set("from", options.mountFrom);
      scopes.push(repositoryScope(options.mountFrom, ["pull"]));
    }
    const opened = await session.expect(
      { target: start, method: "POST", scopes, signal, headers: { "content-length": "0" } },
      [201, 202],
      "NAME_UNKNOWN",
    );
    await opened.body.dump();
    if (opened.status === 201) {
      if (options.mountFrom === undefined || options.digest === undefined) {
        throw new RegistryClientError(
          "INVALID_RESPONSE",
          `POST ${redactUrl(opened.url)}: 201 to a request that opened no mount`,
        );
      }
      const size =
        content instanceof Uint8Array
          ? content.byteLength
          : (await headBlob(repository, options.digest, signal ? { signal } : {})).size;
      return { digest: options.digest, size, outcome: "mounted" };
    }
    let location = nextLocation(opened);
    const minimumChunk = Number(headerValue(opened.headers, HEADER_OCI_CHUNK_MIN_LENGTH) ?? 0) || 0;

    const finish = async (digest: string, body: Buffer | undefined): Promise<void> => {
      const url = new URL(location);
      url.searchParams.set("digest", digest);
      const headers: Record<string, string> = {
        "content-type": "application/octet-stream",
        "content-length": String(body?.byteLength ?? 0),
      };
      const response = await session.expect(
        { target: url, method: "PUT", headers, body: body ?? Buffer.alloc(0), scopes, signal },
        [201, 204],
        "BLOB_UPLOAD_UNKNOWN",
      );
      await response.body.dump();
      const stored = headerValue(response.headers, HEADER_CONTENT_DIGEST);
      if (stored !== undefined && stored !== digest) throw new DigestMismatchError(digest, stored);
    };

    if (content instanceof Uint8Array && options.chunkSize === undefined) {
      const digest = options.digest ?? computeDigest(content);
      await finish(digest, Buffer.from(content.buffer, content.byteOffset, content.byteLength));
      return { digest, size: content.byteLength, outcome: "uploaded" };
    }

    const chunkSize = Math.max(options.chunkSize ?? DEFAULT_CHUNK_SIZE, minimumChunk, 1);
    const source = content instanceof Uint8Array ? [content] : content;
    const digester = createDigester(
      options.digest ? parseDigest(options.digest).algorithm : "sha256",
    );
    let offset = 0;
    for await (const chunk of fixedSizeChunks(source, chunkSize)) {
      const response = await session.expect(
        {
          target: location,
          method: "PATCH",
          headers: {
            "content-type": "application/octet-stream",
            "content-length": String(chunk.byteLength),
            "content-range": `${offset}-${offset + chunk.byteLength - 1}`,
          },
          body: chunk,
          scopes,
          signal,
        },
        [202],
        "BLOB_UPLOAD_UNKNOWN",
      );
      await response.body.dump();
      digester.update(chunk);
      offset += chunk.byteLength;
      location = nextLocation(response);
    }
    const digest = digester.digest();
    if (options.digest !== undefined && digest !== options.digest) {
      await cancelUpload(location, scopes);
      throw new DigestMismatchError(options.digest, digest);
    }
    await finish(digest, undefined);
    return { digest, size: offset, outcome: "uploaded" };
  }

  async function cancelUpload(location: URL, scopes: string[]): Promise<void> {
    try {
      const response = await session.send({
        target: location,
        method: "DELETE",
        scopes,
        retryable: false,
      });
      await response.body.dump();
    } catch (error) {
      logger.debug({ error: (error as Error).message }, "could not cancel the upload session");
    }
  }

  async function pushBlob(
    repository: string,
    content: BlobContent,
    options: PushBlobOptions = {},
  ): Promise<PushBlobResult> {
    checkRepository(repository);
    if (options.mountFrom !== undefined) checkRepository(options.mountFrom);
    if (options.digest !== undefined) checkDigest(options.digest);
    if (
      options.chunkSize !== undefined &&
      !(Number.isSafeInteger(options.chunkSize) && options.chunkSize > 0)
    ) {
      throw new RegistryClientError(
        "INVALID_OPTIONS",
        `chunkSize must be a positive whole number, got ${options.chunkSize}`,
      );
    }
    const inMemory = content instanceof Uint8Array;
    const iterable =
      typeof content === "object" && content !== null && Symbol.asyncIterator in content;
    if (!inMemory && !iterable) {
      throw new RegistryClientError(
        "INVALID_OPTIONS",
        `blob content must be bytes (a Uint8Array or Buffer) or an async iterable of them, got ${content === null ? "null" : typeof content}`,
      );
    }
    if (options.mountFrom !== undefined && !inMemory && options.digest === undefined) {
      throw new RegistryClientError(
        "INVALID_OPTIONS",
        `mountFrom "${options.mountFrom}" needs the blob's digest: pass options.digest with a stream (bytes in memory are hashed first)`,
      );
    }
    let digest = options.digest;
    if (inMemory) {
      const actual = computeDigest(content, digest ? parseDigest(digest).algorithm : "sha256");
      if (digest !== undefined && actual !== digest) throw new DigestMismatchError(digest, actual);
      digest = actual;
    }
    if (digest !== undefined) {
      const existing = await existingBlob(repository, digest, options.signal);
      if (existing) {
        releaseUnread(content);
        return { ...existing, outcome: "exists" };
      }
    }
    const uploadOptions = digest === undefined ? options : { ...options, digest };
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await uploadOnce(repository, content, uploadOptions);
        if (result.outcome === "mounted") releaseUnread(content);
        return result;
      } catch (error) {
        const retryable =
          (RegistryError.isInstance(error) || RegistryClientError.isInstance(error)) &&
          error.retryable;
        if (!inMemory || !retryable || attempt > retry.retries || digest === undefined) throw error;
        const delay = retryDelay(attempt, retry, undefined) ?? 0;
        logger.warn(
          { repository, digest, error: (error as Error).message, delayMs: delay },
          "blob upload failed; pushing again in a new session if the blob is still missing",
        );
        await sleep(delay, options.signal);
        const existing = await existingBlob(repository, digest, options.signal);
        if (existing) return { ...existing, outcome: "uploaded" };
      }
    }
  }

  return { pushBlob };
}
