/**
 * One access-log line per request, written when the response is finished or cut. It carries
 * the request id, method, the path as the client sent it (without the query, which may name
 * things the client did not mean to publish; containerd's `?ns=` registry is logged on its own),
 * route, status, bytes sent, duration and the cache outcome — never headers, so never an
 * Authorization header. What describes the request is read when it arrives: by the time the
 * response ends, the path may have been rewritten and a TLS socket may be gone.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RegistryRoute } from "@regmirror/oci-distribution";
import type { Logger } from "pino";
import type { CacheOutcome } from "../daemon/cache-outcome.js";

export interface AccessLogEntry {
  requestId: string;
  method: string;
  /** The path the client asked for, before `?ns=` is moved into it. */
  path: string;
  /** containerd's `?ns=<registry>`, when given. */
  namespace: string | undefined;
  remoteAddress: string | undefined;
  userAgent: string | undefined;
  /** "2.0" for HTTP/2. */
  httpVersion: string;
  route: string;
  /**
   * Set by the registry handler's first stage: the route served, with the registry a client
   * named (`?ns=`, a host:port prefix) in its repository.
   */
  served?: RegistryRoute;
  /** Bytes of the response body written to the socket (none for HEAD). */
  bytes: number;
  /** Set by the auth gate: the user the request was made as, when known. */
  user?: string;
  /** Set when the response head is written: what the cache did. */
  cache?: CacheOutcome;
}

export interface FinishedRequest {
  entry: AccessLogEntry;
  status: number;
  seconds: number;
  /** False when the connection closed before the response was complete. */
  completed: boolean;
}

/** The request's facts, read as it arrives. */
export function describeRequest(
  request: IncomingMessage,
  requestId: string,
  route: string,
): AccessLogEntry {
  const url = request.url ?? "";
  const queryStart = url.indexOf("?");
  const path = (queryStart < 0 ? url : url.slice(0, queryStart)).slice(0, 512);
  const query = queryStart < 0 ? undefined : new URLSearchParams(url.slice(queryStart + 1));
  return {
    requestId,
    method: request.method ?? "",
    path,
    namespace: query?.get("ns")?.slice(0, 256) ?? undefined,
    remoteAddress: request.socket?.remoteAddress,
    userAgent: request.headers["user-agent"]?.slice(0, 200),
    httpVersion: request.httpVersion,
    route,
    bytes: 0,
  };
}

/** What trackResponse keeps on a response: one object, read by the shared functions below. */
interface Tracking {
  entry: AccessLogEntry;
  started: bigint;
  /** A body given for a HEAD response is never sent. */
  countsBody: boolean;
  /**
   * True while the response's own `end` runs: HTTP/2's `end(body)` sends the body through
   * `this.write`, which is countingWrite, so the body was counted twice.
   */
  ending: boolean;
  completed: boolean;
  onFinished: (finished: FinishedRequest) => void;
  // The response's own methods, called by the counting ones.
  write: ServerResponse["write"];
  end: ServerResponse["end"];
}

const tracking = Symbol("regmirror.access-log.tracking");

type TrackedResponse = ServerResponse & { [tracking]: Tracking };

function count(state: Tracking, chunk: unknown): void {
  if (!state.countsBody) return;
  if (typeof chunk === "string") state.entry.bytes += Buffer.byteLength(chunk);
  else if (chunk instanceof Uint8Array) state.entry.bytes += chunk.byteLength;
}

// Shared by every tracked response (no closures per request: a small GET is dominated by
// allocation, ADR 0035): each reads its state from the response it is called on.
function countingWrite(
  this: TrackedResponse,
  chunk: unknown,
  encoding?: unknown,
  callback?: unknown,
) {
  const state = this[tracking];
  if (!state.ending) count(state, chunk);
  return (state.write as (...args: unknown[]) => boolean).call(this, chunk, encoding, callback);
}

function countingEnd(
  this: TrackedResponse,
  chunk?: unknown,
  encoding?: unknown,
  callback?: unknown,
) {
  const state = this[tracking];
  if (typeof chunk !== "function") count(state, chunk);
  state.ending = true;
  try {
    return (state.end as (...args: unknown[]) => ServerResponse).call(
      this,
      chunk,
      encoding,
      callback,
    );
  } finally {
    state.ending = false;
  }
}

function markCompleted(this: TrackedResponse): void {
  this[tracking].completed = true;
}

function reportFinished(this: TrackedResponse): void {
  const state = this[tracking];
  state.onFinished({
    entry: state.entry,
    status: this.statusCode,
    seconds: Number(process.hrtime.bigint() - state.started) / 1e9,
    completed: state.completed,
  });
}

/**
 * Counts the bytes of the response body and calls `onFinished` once when the exchange ends.
 * `entry` may be filled in by later stages (route, user, cache).
 */
export function trackResponse(
  response: ServerResponse,
  entry: AccessLogEntry,
  onFinished: (finished: FinishedRequest) => void,
): void {
  const tracked = response as TrackedResponse;
  tracked[tracking] = {
    entry,
    started: process.hrtime.bigint(),
    countsBody: entry.method !== "HEAD",
    ending: false,
    completed: false,
    onFinished,
    write: response.write,
    end: response.end,
  };
  response.write = countingWrite as ServerResponse["write"];
  response.end = countingEnd as ServerResponse["end"];
  // "close" comes once per response (node:http and HTTP/2 alike), after "finish" when it came.
  response.on("finish", markCompleted);
  response.on("close", reportFinished);
}

export function writeAccessLogLine(logger: Logger, finished: FinishedRequest): void {
  const { entry } = finished;
  logger.info(
    {
      requestId: entry.requestId,
      method: entry.method,
      path: entry.path,
      ...(entry.namespace === undefined ? {} : { ns: entry.namespace }),
      route: entry.route,
      status: finished.status,
      bytes: entry.bytes,
      durationMs: Math.round(finished.seconds * 1000),
      completed: finished.completed,
      ...(entry.cache === undefined ? {} : { cache: entry.cache }),
      remoteAddress: entry.remoteAddress,
      userAgent: entry.userAgent,
      ...(entry.httpVersion === "1.1" ? {} : { httpVersion: entry.httpVersion }),
      ...(entry.user === undefined ? {} : { user: entry.user }),
    },
    "request",
  );
}
