/**
 * One access-log line per request, written when the response is finished or cut. It carries
 * the request id, method, path (without the query, which may name things the client did not
 * mean to publish), route, status, bytes sent and duration — never headers, so never an
 * Authorization header.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";

export interface AccessLogEntry {
  requestId: string;
  route: string;
  /** Bytes of the response body written to the socket. */
  bytes: number;
  /** Set by the auth gate: the user the request was made as, when known. */
  user?: string;
}

export interface FinishedRequest {
  entry: AccessLogEntry;
  status: number;
  seconds: number;
  /** False when the connection closed before the response was complete. */
  completed: boolean;
}

function pathOf(url: string | undefined): string {
  const path = url ?? "";
  const queryStart = path.indexOf("?");
  return (queryStart < 0 ? path : path.slice(0, queryStart)).slice(0, 512);
}

/**
 * Counts the bytes of the response body and calls `onFinished` once when the exchange ends.
 * `entry` may be filled in by later stages (route, user).
 */
export function trackResponse(
  response: ServerResponse,
  entry: AccessLogEntry,
  onFinished: (finished: FinishedRequest) => void,
): void {
  const started = process.hrtime.bigint();
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  const count = (chunk: unknown) => {
    if (typeof chunk === "string") entry.bytes += Buffer.byteLength(chunk);
    else if (chunk instanceof Uint8Array) entry.bytes += chunk.byteLength;
  };
  response.write = ((chunk: unknown, ...rest: unknown[]) => {
    count(chunk);
    return write(chunk, ...rest);
  }) as typeof response.write;
  response.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== "function") count(chunk);
    return end(chunk, ...rest);
  }) as typeof response.end;
  response.once("close", () => {
    onFinished({
      entry,
      status: response.statusCode,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      completed: response.writableFinished,
    });
  });
}

export function writeAccessLogLine(
  logger: Logger,
  request: IncomingMessage,
  finished: FinishedRequest,
): void {
  const { entry } = finished;
  logger.info(
    {
      requestId: entry.requestId,
      method: request.method,
      path: pathOf(request.url),
      route: entry.route,
      status: finished.status,
      bytes: entry.bytes,
      durationMs: Math.round(finished.seconds * 1000),
      completed: finished.completed,
      remoteAddress: request.socket.remoteAddress,
      userAgent: request.headers["user-agent"]?.slice(0, 200),
      ...(entry.user === undefined ? {} : { user: entry.user }),
    },
    "request",
  );
}
