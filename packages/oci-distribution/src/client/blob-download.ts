/**
 * Blob downloads (distribution spec "Pulling blobs"): a stream verified against the digest,
 * which survives a broken connection by asking again with `Range: bytes=<received>-` and
 * continuing where it stopped; the digest is checked over the whole, resumed stream.
 * Redirects to storage hosts are followed by the transport, without the Authorization header.
 */

import { pipeline, Readable } from "node:stream";
import type { Logger } from "@regmirror/core";
import { createDigestVerifier } from "@regmirror/core";
import { RegistryClientError } from "./client-errors.js";
import { type HttpResponse, headerValue, toConnectionError } from "./http-transport.js";
import { checkDigest, checkRepository } from "./input-checks.js";
import { redactUrl } from "./redact-url.js";
import { repositoryScope } from "./registry-auth.js";
import type { RegistrySession } from "./registry-session.js";
import { abortedError, type ResolvedRetryOptions, retryDelay, sleep } from "./retry.js";

export interface BlobDownload {
  digest: string;
  /** From Content-Length; undefined when the registry did not say. */
  size: number | undefined;
  /**
   * The content. With verification (the default) it fails with DigestMismatchError or
   * SizeMismatchError at the end: treat data as unverified until it ends without error.
   */
  stream: Readable;
}

export interface BlobDescriptor {
  digest: string;
  size: number;
}

export interface GetBlobOptions {
  signal?: AbortSignal;
  /** Check the content against the digest. Default true. */
  verify?: boolean;
}

export function blobPath(repository: string, digest: string): string {
  return `/v2/${repository}/blobs/${digest}`;
}

function contentLength(response: HttpResponse): number | undefined {
  const value = headerValue(response.headers, "content-length");
  const length = value === undefined ? Number.NaN : Number(value);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** `bytes 100-199/200` → { start: 100, total: 200 }. */
function parseContentRange(
  value: string | undefined,
): { start: number; total?: number } | undefined {
  const match = value === undefined ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value.trim());
  if (!match) return undefined;
  const total = match[3] === "*" ? undefined : Number(match[3]);
  return total === undefined ? { start: Number(match[1]) } : { start: Number(match[1]), total };
}

export function createBlobDownloads(
  session: RegistrySession,
  deps: { retry: ResolvedRetryOptions; logger: Logger },
) {
  const { retry, logger } = deps;
  /** Blob streams handed out and not yet ended: `close()` ends them, so it never waits forever. */
  const openStreams = new Set<Readable>();

  function track<T extends Readable>(stream: T): T {
    openStreams.add(stream);
    stream.once("close", () => openStreams.delete(stream));
    return stream;
  }

  /** Ends every blob stream still open (unread ones keep their connection busy otherwise). */
  function destroyOpenStreams(): void {
    for (const stream of openStreams) {
      stream.destroy(
        new RegistryClientError(
          "CLIENT_CLOSED",
          "the registry client was closed before this blob stream was read to its end",
        ),
      );
    }
    openStreams.clear();
  }

  async function headBlob(
    repository: string,
    digest: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<BlobDescriptor> {
    checkRepository(repository);
    checkDigest(digest);
    const response = await session.expect(
      {
        target: blobPath(repository, digest),
        method: "HEAD",
        scopes: [repositoryScope(repository, ["pull"])],
        signal: options.signal,
      },
      [200],
      "BLOB_UNKNOWN",
    );
    await response.body.dump();
    const size = contentLength(response);
    if (size === undefined) {
      throw new RegistryClientError(
        "INVALID_RESPONSE",
        `HEAD ${redactUrl(response.url)}: no Content-Length for blob ${digest}`,
      );
    }
    return { digest, size };
  }

  async function getBlob(
    repository: string,
    digest: string,
    options: GetBlobOptions = {},
  ): Promise<BlobDownload> {
    checkRepository(repository);
    checkDigest(digest);
    const { signal } = options;
    const request = (offset: number) =>
      session.expect(
        {
          target: blobPath(repository, digest),
          method: "GET",
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
          scopes: [repositoryScope(repository, ["pull"])],
          signal,
        },
        offset > 0 ? [200, 206] : [200],
        "BLOB_UNKNOWN",
      );

    const first = await request(0);
    const size = contentLength(first);

    async function* resumingChunks(): AsyncGenerator<Buffer> {
      let response = first;
      let received = 0;
      let skip = 0;
      let failuresWithoutProgress = 0;
      let receivedAtLastFailure = -1;
      for (;;) {
        let failure: unknown;
        try {
          for await (const chunk of response.body as AsyncIterable<Buffer>) {
            let data = chunk;
            if (skip > 0) {
              // The registry ignored our Range and started over: drop what we already have.
              const dropped = Math.min(skip, data.byteLength);
              skip -= dropped;
              data = data.subarray(dropped);
              if (data.byteLength === 0) continue;
            }
            received += data.byteLength;
            yield data;
          }
          if (size === undefined || received >= size) return;
          failure = new Error(`body ended after ${received} of ${size} bytes`);
        } catch (error) {
          failure = error;
        }
        if (signal?.aborted) throw abortedError(signal);
        if (received > receivedAtLastFailure) failuresWithoutProgress = 0;
        receivedAtLastFailure = received;
        failuresWithoutProgress += 1;
        if (failuresWithoutProgress > retry.retries) {
          throw toConnectionError(failure, "GET", response.url);
        }
        const delay = retryDelay(failuresWithoutProgress, retry, undefined) ?? 0;
        logger.warn(
          { url: redactUrl(response.url), received, size, delayMs: delay },
          "blob download broke, resuming with a Range request",
        );
        response.body.destroy();
        await sleep(delay, signal);
        response = await request(received);
        if (response.status === 206) {
          const range = parseContentRange(headerValue(response.headers, "content-range"));
          if (range?.start !== received) {
            response.body.destroy();
            throw new RegistryClientError(
              "INVALID_RESPONSE",
              `GET ${redactUrl(response.url)}: asked for bytes from ${received}, got Content-Range ${headerValue(response.headers, "content-range") ?? "(none)"}`,
            );
          }
          skip = 0;
        } else {
          skip = received;
        }
      }
    }

    const source = Readable.from(resumingChunks(), { objectMode: false });
    if (options.verify === false) return { digest, size, stream: track(source) };
    const verifier = createDigestVerifier(digest, size);
    // pipeline carries errors both ways: a failed source fails the verifier, and a consumer
    // that destroys the verifier stops the download.
    pipeline(source, verifier, () => {});
    return { digest, size, stream: track(verifier) };
  }

  return { headBlob, getBlob, destroyOpenStreams };
}
