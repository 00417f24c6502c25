import type { IncomingMessage, ServerResponse } from "node:http";
import { API_VERSION, type RegistryError } from "@regmirror/oci-distribution";

/** Answers with the OCI error JSON (no body for HEAD), adding the error's own headers. */
export function sendRegistryError(
  request: IncomingMessage,
  response: ServerResponse,
  error: RegistryError,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(error.toErrorBody()));
  response.writeHead(error.status, {
    ...error.responseHeaders,
    ...(error.retryAfterSeconds === undefined
      ? {}
      : { "Retry-After": String(Math.ceil(error.retryAfterSeconds)) }),
    "Docker-Distribution-API-Version": API_VERSION,
    "Content-Type": "application/json",
    "Content-Length": String(body.byteLength),
  });
  response.end(request.method === "HEAD" ? undefined : body);
}
