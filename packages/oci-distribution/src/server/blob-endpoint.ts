/**
 * `/v2/<name>/blobs/<digest>`: GET (with Range; a whole GET may be a 307 to where the storage
 * says the blob is), HEAD, DELETE.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-blobs
 */

import { RegistryError } from "../model/errors.js";
import { API_VERSION } from "../model/media-types.js";
import { parseRangeHeader, type ResolvedByteRange } from "./byte-range.js";
import { type HeaderValues, sendEmpty } from "./http-exchange.js";
import {
  methodNotAllowed,
  type RegistryExchange,
  requireDigest,
  requireWritable,
} from "./registry-exchange.js";
import { sendBlobBody } from "./send-blob-body.js";

/** One object per response, not spreads of spreads: a small blob GET is counted in microseconds (ADR 0035). */
function blobHeaders(digest: string, contentLength: number): HeaderValues {
  return {
    "Docker-Distribution-API-Version": API_VERSION,
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest,
    ETag: `"${digest}"`,
    "Accept-Ranges": "bytes",
    // Content under a digest never changes.
    "Cache-Control": "max-age=31536000",
    "Content-Length": contentLength,
  };
}

// Not async: what it does at once (the digest check, the method) throws to the handler directly.
export function handleBlob(
  exchange: RegistryExchange,
  repository: string,
  rawDigest: string,
): Promise<void> {
  const digest = requireDigest(rawDigest, "the blob path");
  switch (exchange.request.method) {
    case "GET":
    case "HEAD":
      return getBlob(exchange, repository, digest);
    case "DELETE":
      return deleteBlob(exchange, repository, digest);
    default:
      throw methodNotAllowed(["GET", "HEAD", "DELETE"]);
  }
}

async function deleteBlob(exchange: RegistryExchange, repository: string, digest: string) {
  const deleted = await requireWritable(exchange.storage, "deleteBlob")(
    repository,
    digest,
    exchange.context,
  );
  if (!deleted) throw new RegistryError("BLOB_UNKNOWN", { detail: { digest } });
  sendEmpty(exchange.response, 202);
}

async function getBlob(exchange: RegistryExchange, repository: string, digest: string) {
  const { request, response, storage, context } = exchange;
  const rangeHeader = request.headers.range;
  let range: ResolvedByteRange | undefined;

  // HEAD, and GET with a Range, need only the size first; HEAD never opens the content.
  if (request.method === "HEAD" || rangeHeader !== undefined) {
    const info = await storage.statBlob(repository, digest, context);
    if (info === undefined) throw new RegistryError("BLOB_UNKNOWN", { detail: { digest } });
    const requested = parseRangeHeader(rangeHeader, info.size);
    if (requested.kind === "unsatisfiable") {
      throw new RegistryError("RANGE_INVALID", {
        detail: { size: info.size },
        responseHeaders: { "Content-Range": `bytes */${info.size}` },
      });
    }
    if (request.method === "HEAD") {
      response.writeHead(200, blobHeaders(digest, info.size));
      response.end();
      return;
    }
    if (requested.kind === "partial") range = requested.range;
  }

  if (request.method === "GET" && rangeHeader === undefined && storage.blobRedirect) {
    const location = await storage.blobRedirect(repository, digest, context);
    if (location !== undefined) {
      // As distribution does: the client fetches the bytes there and checks them against the digest.
      sendEmpty(response, 307, {
        Location: location,
        "Docker-Content-Digest": digest,
        "Cache-Control": "no-store",
      });
      return;
    }
  }

  const content = await storage.openBlob(repository, digest, range, context);
  if (content === undefined) throw new RegistryError("BLOB_UNKNOWN", { detail: { digest } });
  // Headers carry the digest the client asked for (validated), never what a backend returned.
  if (range === undefined) {
    response.writeHead(200, blobHeaders(digest, content.size));
  } else {
    const headers = blobHeaders(digest, range.end - range.start + 1);
    headers["Content-Range"] = `bytes ${range.start}-${range.end}/${content.size}`;
    response.writeHead(206, headers);
  }
  await sendBlobBody(content, response, exchange.bodyBuffers);
}
