// What an HTTP client actually got, for tests and benchmarks of faulty servers: every byte
// that arrived, also when the connection was cut, and whether the response ended complete;
// and raw bytes on a socket, for requests a client library would refuse to send.
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";

export interface ReceivedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body ended cleanly, with as many bytes as Content-Length announced (when it did). */
  complete: boolean;
}

/** A GET on a new connection that keeps whatever arrived, also when the connection is cut. */
export function receiveResponse(
  url: string,
  headers: Record<string, string> = {},
): Promise<ReceivedResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (clean: boolean) => {
        if (settled) return;
        settled = true;
        const body = Buffer.concat(chunks);
        const declared = Number(response.headers["content-length"]);
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body,
          complete:
            clean && response.complete && (Number.isNaN(declared) || declared === body.length),
        });
      };
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("end", () => finish(true));
      response.once("error", () => finish(false));
      response.once("close", () => finish(false));
    });
    request.once("error", reject);
    request.end();
  });
}

/**
 * Sends `bytes` as they are on a new connection to `url`'s host and port; resolves with
 * everything the server sent and whether it closed the connection within `timeoutMs`.
 */
export function rawHttpExchange(
  url: string,
  bytes: string,
  timeoutMs = 10_000,
): Promise<{ text: string; closed: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: false });
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: true });
    });
    socket.write(bytes);
  });
}
