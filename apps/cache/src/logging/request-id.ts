// The request id of each request: the caller's X-Request-Id when usable, else one made here.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

// A caller's id is kept only when it is short and plain, so it cannot forge log lines.
const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

// A made id has a UUID's shape: this process's random first 24 characters (a UUID's first four
// groups; unique across workers and restarts) and a counter as the last group. A random UUID per
// request allocated about 600 bytes in the profile of a manifest GET (ADR 0035).
const processPrefix = randomUUID().slice(0, 24);
let madeIds = 0;

function makeRequestId(): string {
  madeIds += 1;
  return processPrefix + madeIds.toString(16).padStart(12, "0");
}

/** The request's `X-Request-Id` when it is usable, else a new id unique to this request. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers["x-request-id"];
  const value = Array.isArray(given) ? given[0] : given;
  return value !== undefined && acceptableRequestId.test(value) ? value : makeRequestId();
}
