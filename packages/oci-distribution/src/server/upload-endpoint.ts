/**
 * `/v2/<name>/blobs/uploads/[<id>]`: POST (session, monolithic, mount), PATCH, PUT, GET, DELETE.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-blobs
 */
import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import { RegistryError } from "../model/errors.js";
import { isValidRepositoryName } from "../model/reference.js";
import { parseUploadContentRange } from "./byte-range.js";
import { contentLengthOf, createByteLimit, hasBody, sendEmpty } from "./http-exchange.js";
import {
  methodNotAllowed,
  type RegistryExchange,
  requireDigest,
  requireWritable,
} from "./registry-exchange.js";
import type { UploadSessionStatus } from "./registry-storage.js";

const uploadIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

function uploadUnknown(): RegistryError {
  return new RegistryError("BLOB_UPLOAD_UNKNOWN");
}

/** `Range: 0-<last byte>` as the spec reports upload progress (`0-0` when empty). */
function progressRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function sessionHeaders(repository: string, id: string, size: number): Record<string, string> {
  return {
    Location: `/v2/${repository}/blobs/uploads/${id}`,
    Range: progressRange(size),
    "Docker-Upload-UUID": id,
  };
}

function blobCreatedHeaders(repository: string, digest: string): Record<string, string> {
  return { Location: `/v2/${repository}/blobs/${digest}`, "Docker-Content-Digest": digest };
}

export async function handleUpload(
  exchange: RegistryExchange,
  repository: string,
  uploadId: string | undefined,
) {
  const method = exchange.request.method;
  if (uploadId === undefined) {
    if (method === "POST") return startUpload(exchange, repository);
    throw method === "GET" || method === "PATCH" || method === "PUT" || method === "DELETE"
      ? uploadUnknown()
      : methodNotAllowed(["POST"]);
  }
  if (!uploadIdPattern.test(uploadId)) throw uploadUnknown();
  switch (method) {
    case "GET":
      return reportUpload(exchange, repository, uploadId);
    case "PATCH":
      return patchUpload(exchange, repository, uploadId);
    case "PUT":
      return finishUpload(exchange, repository, uploadId);
    case "DELETE": {
      const cancelled = await requireWritable(exchange.storage, "cancelUpload")(
        repository,
        uploadId,
        exchange.context,
      );
      if (!cancelled) throw uploadUnknown();
      return sendEmpty(exchange.response, 204);
    }
    default:
      throw methodNotAllowed(["GET", "PATCH", "PUT", "DELETE"]);
  }
}

async function startUpload(exchange: RegistryExchange, repository: string) {
  const { storage, query, context, response } = exchange;
  const createUpload = requireWritable(storage, "createUpload");

  const mountDigest = query.get("mount");
  const from = query.get("from");
  if (mountDigest !== null && from !== null && storage.mountBlob !== undefined) {
    const digest = requireDigest(mountDigest, "the mount parameter");
    if (isValidRepositoryName(from)) {
      const mounted = await storage.mountBlob(repository, from, digest, context);
      if (mounted !== undefined)
        return sendEmpty(response, 201, blobCreatedHeaders(repository, digest));
    }
    // The spec: when a mount cannot be done, start an ordinary upload session instead.
  }

  const digestParameter = query.get("digest");
  const { id } = await createUpload(repository, context);
  if (digestParameter !== null) {
    // Monolithic upload in one POST.
    const digest = requireDigest(digestParameter, "the digest parameter");
    try {
      await appendBody(exchange, repository, id, { size: 0 });
      const blob = await requireWritable(storage, "completeUpload")(
        repository,
        id,
        digest,
        context,
      );
      return sendEmpty(response, 201, blobCreatedHeaders(repository, blob.digest));
    } catch (error) {
      await storage.cancelUpload?.(repository, id, context).catch(() => false);
      throw error;
    }
  }
  sendEmpty(response, 202, sessionHeaders(repository, id, 0));
}

async function requireUpload(
  exchange: RegistryExchange,
  repository: string,
  id: string,
): Promise<UploadSessionStatus> {
  const status = await requireWritable(exchange.storage, "uploadStatus")(
    repository,
    id,
    exchange.context,
  );
  if (status === undefined) throw uploadUnknown();
  return status;
}

async function reportUpload(exchange: RegistryExchange, repository: string, id: string) {
  const status = await requireUpload(exchange, repository, id);
  sendEmpty(exchange.response, 204, sessionHeaders(repository, id, status.size));
}

/**
 * Streams the request body into the session after checking `Content-Range` (it must start
 * where the session ends) and capping the length at the blob limit.
 */
async function appendBody(
  exchange: RegistryExchange,
  repository: string,
  id: string,
  status: UploadSessionStatus,
): Promise<UploadSessionStatus> {
  const { request, storage, limits, context } = exchange;
  const declaredLength = contentLengthOf(request);
  let maxBytes = limits.maxBlobBytes - status.size;
  const contentRange = request.headers["content-range"];
  if (contentRange !== undefined) {
    const range = parseUploadContentRange(contentRange);
    if (range === undefined) {
      throw new RegistryError("BLOB_UPLOAD_INVALID", {
        detail: { reason: "malformed Content-Range" },
      });
    }
    if (range.start !== status.size) {
      throw new RegistryError("RANGE_INVALID", {
        message: "the chunk does not start where the upload ends",
        detail: { uploadedBytes: status.size },
        responseHeaders: sessionHeaders(repository, id, status.size),
      });
    }
    const chunkLength = range.end - range.start + 1;
    if (declaredLength !== undefined && declaredLength !== chunkLength) {
      throw new RegistryError("SIZE_INVALID", {
        detail: { reason: "Content-Length does not match Content-Range" },
      });
    }
    maxBytes = Math.min(maxBytes, chunkLength);
  }
  if (declaredLength !== undefined && declaredLength > maxBytes) {
    throw new RegistryError("SIZE_INVALID", {
      status: 413,
      message: "content is larger than this registry accepts",
      detail: { limit: limits.maxBlobBytes },
    });
  }
  if (!hasBody(request)) return status;
  const limited = createByteLimit(maxBytes);
  const body: Readable = pipeline(request, limited, () => {});
  return requireWritable(storage, "appendUpload")(repository, id, body, context);
}

async function patchUpload(exchange: RegistryExchange, repository: string, id: string) {
  const status = await requireUpload(exchange, repository, id);
  const updated = await appendBody(exchange, repository, id, status);
  sendEmpty(exchange.response, 202, sessionHeaders(repository, id, updated.size));
}

async function finishUpload(exchange: RegistryExchange, repository: string, id: string) {
  const { storage, query, context, response } = exchange;
  const digest = requireDigest(query.get("digest"), "the digest parameter");
  const status = await requireUpload(exchange, repository, id);
  await appendBody(exchange, repository, id, status);
  const blob = await requireWritable(storage, "completeUpload")(repository, id, digest, context);
  sendEmpty(response, 201, blobCreatedHeaders(repository, blob.digest));
}
