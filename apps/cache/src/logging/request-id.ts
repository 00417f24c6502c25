import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

// A caller's id is kept only when it is short and plain, so it cannot forge log lines.
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's `X-Request-Id` when it is usable, else a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers["x-request-id"];
  const value = Array.isArray(given) ? given[0] : given;
  return value !== undefined && acceptableRequestId.test(value) ? value : randomUUID();
}
