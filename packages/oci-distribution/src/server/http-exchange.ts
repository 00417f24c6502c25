/**
 * Small helpers over node:http for one request/response exchange: JSON and error answers,
 * bounded body reading, and a length-capping stream for uploads.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Transform, type TransformCallback } from "node:stream";
import { RegistryError } from "../model/errors.js";
import { API_VERSION } from "../model/media-types.js";

export type HeaderValues = Record<string, string | number>;

/** Headers every response carries. */
export function baseHeaders(): HeaderValues {
  return { "Docker-Distribution-API-Version": API_VERSION };
}

export function sendEmpty(
  response: ServerResponse,
  status: number,
  headers: HeaderValues = {},
): void {
  response.writeHead(status, { ...baseHeaders(), "Content-Length": 0, ...headers });
  response.end();
}

export function sendJson(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: HeaderValues = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body));
  response.writeHead(status, {
    ...baseHeaders(),
    "Content-Type": "application/json",
    "Content-Length": bytes.byteLength,
    ...headers,
  });
  response.end(request.method === "HEAD" ? undefined : bytes);
}

/** Answers with the OCI error body; when headers are already out, cuts the connection instead. */
export function sendRegistryError(
  request: IncomingMessage,
  response: ServerResponse,
  error: RegistryError,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const headers: HeaderValues = { ...error.responseHeaders };
  if (error.retryAfterSeconds !== undefined)
    headers["Retry-After"] = Math.ceil(error.retryAfterSeconds);
  sendJson(request, response, error.status, error.toErrorBody(), headers);
}

export function toRegistryError(error: unknown): RegistryError | undefined {
  return RegistryError.isInstance(error) ? error : undefined;
}

/** The request body, at most `maxBytes` (else SIZE_INVALID with 413). */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = contentLengthOf(request);
  if (declared !== undefined && declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    total += buffer.byteLength;
    if (total > maxBytes) throw tooLarge(maxBytes);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(maxBytes: number): RegistryError {
  return new RegistryError("SIZE_INVALID", {
    status: 413,
    message: "content is larger than this registry accepts",
    detail: { limit: maxBytes },
  });
}

/** `Content-Length` as a number; undefined when absent; SIZE_INVALID when malformed. */
export function contentLengthOf(request: IncomingMessage): number | undefined {
  const header = request.headers["content-length"];
  if (header === undefined) return undefined;
  if (!/^\d{1,15}$/.test(header)) {
    throw new RegistryError("SIZE_INVALID", { detail: { reason: "malformed Content-Length" } });
  }
  return Number(header);
}

/** Passes at most `maxBytes` through; one byte more fails the stream with SIZE_INVALID (413). */
export function createByteLimit(maxBytes: number): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        callback(tooLarge(maxBytes));
        return;
      }
      callback(null, chunk);
    },
  });
}

/** Whether a request has a body to read (Content-Length > 0 or chunked). */
export function hasBody(request: IncomingMessage): boolean {
  const length = contentLengthOf(request);
  if (length !== undefined) return length > 0;
  return request.headers["transfer-encoding"] !== undefined;
}
