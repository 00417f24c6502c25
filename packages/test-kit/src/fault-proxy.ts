// A proxy that injects faults between a client and a real server: delay, cut, throttle, corrupt.
import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  validateHeaderName,
  validateHeaderValue,
} from "node:http";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { TestKitError } from "./errors.js";
import { listenOnLoopback } from "./free-port.js";

export interface FaultRule {
  /** Which requests the fault applies to; default all. */
  method?: string | RegExp;
  path?: RegExp;
  /** Apply to this many matching requests, then pass through. Default: every match. */
  times?: number;
  /** Wait this long before forwarding. */
  delayMs?: number;
  /** Send the response body at this many bytes per second. */
  throttleBytesPerSecond?: number;
  /** Destroy the connection after this many body bytes. */
  cutAfterBytes?: number;
  /** Flip the bits of the body byte at this offset. */
  corruptByteAt?: number;
  /** Answer this status (with a small body) instead of forwarding. */
  status?: number;
  /**
   * Extra headers of the `status` answer, e.g. `{ "retry-after": "1" }` for a 429 or 503; without
   * `status`, added to the server's forwarded answer (e.g. Docker Hub's `ratelimit-remaining`).
   */
  headers?: Record<string, string>;
  /**
   * Breaks the HTTP framing of the server's (whole, buffered) answer, written as raw bytes:
   * `content-length-long` declares more bytes than it sends, then closes; `content-length-short`
   * declares fewer than it sends; `chunked-short` sends a clean chunked body that lacks its last
   * tenth. Each drops the connection afterwards.
   */
  framing?: "content-length-long" | "content-length-short" | "chunked-short";
  /**
   * Keeps the server's status and headers but sends this many filler bytes as the body instead
   * (declared in Content-Length, or chunked), produced only as fast as the client reads them:
   * `requests()[i].bodyBytesSent` tells how much a client took before it stopped.
   */
  oversizedBody?: { bytes: number; chunked?: boolean };
  /** Answers 307 with `Location: <redirectTo><path>` (another origin, like a storage host). */
  redirectTo?: string;
}

/** One request the proxy saw. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** When it arrived (`Date.now()`), to check that a client waited as a server asked. */
  at: number;
  /** The request's headers, as the client sent them. */
  headers: IncomingHttpHeaders;
  /** Response body bytes the proxy has written so far (kernel buffers may hold some of them). */
  bodyBytesSent: number;
}

export interface FaultProxy {
  url: string;
  host: string;
  setFault(rule: FaultRule | undefined): void;
  /** Requests seen per path (query included), faulty or not. */
  requestCounts(): Map<string, number>;
  /** Every request seen, in order. */
  requests(): ProxiedRequest[];
  requestCount(pathPattern?: RegExp): number;
  resetCounts(): void;
  stop(): Promise<void>;
}

export interface FaultProxyOptions {
  /** The real server, e.g. `http://127.0.0.1:5000` (https needs `ca` unless publicly trusted). */
  target: string;
  ca?: string;
  /** Serve https with this certificate instead of http (e.g. an upstream a node must trust). */
  tls?: { certificatePem: string; keyPem: string };
}

function matches(rule: FaultRule, method: string, path: string): boolean {
  if (rule.method !== undefined) {
    const methodMatches =
      typeof rule.method === "string"
        ? rule.method.toUpperCase() === method
        : rule.method.test(method);
    if (!methodMatches) return false;
  }
  return rule.path === undefined || rule.path.test(path);
}

/** The distribution error code a registry sends with these statuses; UNAVAILABLE otherwise. */
const errorCodeForStatus: Record<number, string> = {
  401: "UNAUTHORIZED",
  403: "DENIED",
  405: "UNSUPPORTED",
  429: "TOOMANYREQUESTS",
};

/** Refuses a rule the proxy could not apply, at `setFault` rather than mid-request. */
function checkRule(rule: FaultRule): void {
  if (
    rule.status !== undefined &&
    !(Number.isInteger(rule.status) && rule.status >= 100 && rule.status <= 599)
  ) {
    throw new TestKitError("BAD_INPUT", `setFault: status must be 100-599, got ${rule.status}`);
  }
  if (
    rule.oversizedBody !== undefined &&
    !(Number.isSafeInteger(rule.oversizedBody.bytes) && rule.oversizedBody.bytes > 0)
  ) {
    throw new TestKitError("BAD_INPUT", "setFault: oversizedBody.bytes must be a positive integer");
  }
  if (rule.redirectTo !== undefined && !/^https?:\/\/[^/]+$/.test(rule.redirectTo)) {
    throw new TestKitError(
      "BAD_INPUT",
      "setFault: redirectTo is an origin like http://127.0.0.1:5001",
    );
  }
  if (rule.headers === undefined) return;
  for (const [name, value] of Object.entries(rule.headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      throw new TestKitError(
        "BAD_INPUT",
        `setFault: header ${JSON.stringify(name)} is not a valid HTTP header`,
        { cause: error },
      );
    }
  }
}

/** Resolves when `response` takes more bytes again, or is closed (leaving no listener behind). */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}

/** Writes `chunk` at about `bytesPerSecond`, in pieces of a tenth of a second. */
async function writeThrottled(
  response: ServerResponse,
  chunk: Buffer,
  bytesPerSecond: number,
): Promise<void> {
  const piece = Math.max(1, Math.floor(bytesPerSecond / 10));
  for (let offset = 0; offset < chunk.length && !response.destroyed; offset += piece) {
    const part = chunk.subarray(offset, offset + piece);
    response.write(part);
    await sleep((part.length / bytesPerSecond) * 1000);
  }
}

/** Forwards the upstream body, applying the body faults of `rule`. */
async function relayBody(
  upstream: IncomingMessage,
  response: ServerResponse,
  rule: FaultRule | undefined,
  seen: ProxiedRequest,
): Promise<void> {
  let sent = 0;
  for await (const data of upstream) {
    if (response.destroyed) {
      // The client went away: stop reading from the server too.
      upstream.destroy();
      return;
    }
    let chunk = Buffer.from(data as Buffer);
    if (
      rule?.corruptByteAt !== undefined &&
      rule.corruptByteAt >= sent &&
      rule.corruptByteAt < sent + chunk.length
    ) {
      const index = rule.corruptByteAt - sent;
      chunk = Buffer.from(chunk);
      chunk[index] = (chunk[index] ?? 0) ^ 0xff;
    }
    let cut = false;
    if (rule?.cutAfterBytes !== undefined && sent + chunk.length >= rule.cutAfterBytes) {
      chunk = chunk.subarray(0, rule.cutAfterBytes - sent);
      cut = true;
    }
    if (rule?.throttleBytesPerSecond !== undefined) {
      await writeThrottled(response, chunk, rule.throttleBytesPerSecond);
    } else if (chunk.length > 0 && !response.write(chunk)) {
      await drained(response);
    }
    sent += chunk.length;
    seen.bodyBytesSent = sent;
    if (cut) {
      // Let the bytes reach the client, then drop the connection mid-body.
      await new Promise<void>((resolve) =>
        response.socket ? response.socket.write("", () => resolve()) : resolve(),
      );
      upstream.destroy();
      response.socket?.destroy();
      return;
    }
  }
  response.end();
}

/** The server's answer written as raw bytes with broken framing (see FaultRule.framing). */
async function sendBrokenFraming(
  upstream: IncomingMessage,
  request: IncomingMessage,
  framing: NonNullable<FaultRule["framing"]>,
  seen: ProxiedRequest,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of upstream) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const headers = Object.entries(upstream.headers)
    .filter(([name]) => !["content-length", "transfer-encoding", "connection"].includes(name))
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map((one) => `${name}: ${one}`),
    );
  const statusLine = `HTTP/1.1 ${upstream.statusCode} ${upstream.statusMessage ?? ""}`;
  let framed: Buffer;
  if (framing === "chunked-short") {
    const kept = body.subarray(0, Math.floor(body.length * 0.9));
    framed = Buffer.concat([
      Buffer.from(`${[statusLine, ...headers, "transfer-encoding: chunked"].join("\r\n")}\r\n\r\n`),
      kept.length > 0 ? Buffer.from(`${kept.length.toString(16)}\r\n`) : Buffer.alloc(0),
      kept,
      Buffer.from(kept.length > 0 ? "\r\n0\r\n\r\n" : "0\r\n\r\n"),
    ]);
  } else {
    const declared =
      framing === "content-length-long" ? body.length + 1000 : Math.floor(body.length / 2);
    framed = Buffer.concat([
      Buffer.from(
        `${[statusLine, ...headers, `content-length: ${declared}`].join("\r\n")}\r\n\r\n`,
      ),
      body,
    ]);
  }
  const socket = request.socket;
  seen.bodyBytesSent = body.length;
  await new Promise<void>((resolve) => socket.end(framed, () => resolve()));
  socket.destroy();
}

/** Filler bytes as the body of the server's answer, written only as fast as the client reads. */
async function sendOversizedBody(
  upstream: IncomingMessage,
  response: ServerResponse,
  oversized: NonNullable<FaultRule["oversizedBody"]>,
  seen: ProxiedRequest,
): Promise<void> {
  upstream.resume();
  const headers = { ...upstream.headers };
  delete headers["content-length"];
  delete headers["transfer-encoding"];
  if (!oversized.chunked) headers["content-length"] = String(oversized.bytes);
  response.writeHead(upstream.statusCode ?? 200, headers);
  const piece = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  while (sent < oversized.bytes && !response.destroyed) {
    const part = piece.subarray(0, Math.min(piece.length, oversized.bytes - sent));
    sent += part.length;
    seen.bodyBytesSent = sent;
    if (!response.write(part)) {
      await drained(response);
    }
  }
  response.end();
}

/**
 * An HTTP proxy on 127.0.0.1 in front of `target` that injects the fault set with `setFault`:
 * a fake only in the sense that it makes a real server misbehave on demand. It keeps the
 * client's Host header, so absolute URLs the server builds (upload locations) point back at
 * the proxy.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  let target: URL;
  try {
    target = new URL(options.target);
  } catch (error) {
    throw new TestKitError(
      "BAD_INPUT",
      `startFaultProxy: target ${JSON.stringify(options.target)} is not a URL`,
      { cause: error },
    );
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new TestKitError(
      "BAD_INPUT",
      `startFaultProxy: target must be http: or https:, got ${target.protocol}`,
    );
  }
  let rule: FaultRule | undefined;
  let remaining = Number.POSITIVE_INFINITY;
  const seen: ProxiedRequest[] = [];
  const inFlight = new Set<ClientRequest>();

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const method = request.method ?? "GET";
    const path = request.url ?? "/";
    const entry: ProxiedRequest = {
      method,
      path,
      at: Date.now(),
      headers: { ...request.headers },
      bodyBytesSent: 0,
    };
    seen.push(entry);
    let active: FaultRule | undefined;
    if (rule !== undefined && remaining > 0 && matches(rule, method, path)) {
      active = rule;
      remaining -= 1;
    }
    void (async () => {
      if (active?.delayMs !== undefined) await sleep(active.delayMs);
      if (active?.status !== undefined) {
        request.resume();
        response.writeHead(active.status, {
          "content-type": "application/json",
          ...active.headers,
        });
        response.end(
          JSON.stringify({
            errors: [
              {
                code: errorCodeForStatus[active.status] ?? "UNAVAILABLE",
                message: `fault proxy answered ${active.status}`,
              },
            ],
          }),
        );
        return;
      }
      if (active?.redirectTo !== undefined) {
        request.resume();
        response.writeHead(307, { location: `${active.redirectTo}${path}`, "content-length": 0 });
        response.end();
        return;
      }
      if (response.destroyed) return; // the client gave up during the delay
      const send = target.protocol === "https:" ? httpsRequest : httpRequest;
      const upstreamRequest = send(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method,
          path,
          headers: request.headers,
          ca: options.ca,
        },
        (upstream) => {
          const broken = active?.framing;
          const oversized = active?.oversizedBody;
          const sending =
            broken !== undefined
              ? sendBrokenFraming(upstream, request, broken, entry)
              : oversized !== undefined
                ? sendOversizedBody(upstream, response, oversized, entry)
                : (() => {
                    response.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, {
                      ...upstream.headers,
                      ...active?.headers,
                    });
                    return relayBody(upstream, response, active, entry);
                  })();
          sending.catch(() => response.socket?.destroy());
        },
      );
      inFlight.add(upstreamRequest);
      upstreamRequest.once("close", () => inFlight.delete(upstreamRequest));
      upstreamRequest.once("error", (error) => {
        if (response.headersSent) {
          response.socket?.destroy();
        } else {
          response.writeHead(502, { "content-type": "text/plain" });
          response.end(`fault proxy: upstream ${options.target} failed: ${error.message}`);
        }
      });
      request.pipe(upstreamRequest);
    })();
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.certificatePem, key: options.tls.keyPem }, handle)
    : createServer(handle);
  const port = await listenOnLoopback(server);
  let stopped: Promise<void> | undefined;
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    setFault(next) {
      if (next !== undefined) checkRule(next);
      rule = next;
      remaining = next?.times ?? Number.POSITIVE_INFINITY;
    },
    requestCounts() {
      const counts = new Map<string, number>();
      for (const entry of seen) counts.set(entry.path, (counts.get(entry.path) ?? 0) + 1);
      return counts;
    },
    requests: () => [...seen],
    requestCount(pathPattern) {
      return seen.filter((entry) => pathPattern === undefined || pathPattern.test(entry.path))
        .length;
    },
    resetCounts() {
      seen.length = 0;
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const upstreamRequest of inFlight) upstreamRequest.destroy();
      });
      return stopped;
    },
  };
}
