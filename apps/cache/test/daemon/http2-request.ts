// A node:http2 client for the cache's TLS listener: one session per call, so each answer shows
// what a fresh HTTP/2 client gets (ALPN h2), and a paused download for the drain test.
import { createHash } from "node:crypto";
import { connect, type IncomingHttpHeaders } from "node:http2";

export interface Http2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The protocol ALPN chose: "h2" when the server speaks HTTP/2. */
  alpnProtocol: string | false | undefined;
}

export function sendHttp2Request(
  baseUrl: string,
  path: string,
  options: { ca: string; method?: string; headers?: Record<string, string> },
): Promise<Http2Answer> {
  return new Promise((resolve, reject) => {
    const session = connect(baseUrl, { ca: options.ca });
    session.on("error", reject);
    const stream = session.request({
      ...options.headers,
      ":path": path,
      ":method": options.method ?? "GET",
    });
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders = {};
    stream.on("response", (received) => {
      headers = received;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => {
      const alpnProtocol = session.alpnProtocol;
      session.close();
      resolve({
        status: Number(headers[":status"]),
        headers,
        body: Buffer.concat(chunks),
        alpnProtocol,
      });
    });
    stream.end();
  });
}

/** An HTTP/2 GET whose body is read only when `resume()` is called: an in-flight download. */
export function startPausedHttp2Download(
  baseUrl: string,
  path: string,
  ca: string,
): Promise<{ status: number; resume(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const session = connect(baseUrl, { ca });
    session.on("error", reject);
    const stream = session.request({ ":path": path });
    stream.pause();
    stream.on("error", reject);
    stream.on("response", (headers) => {
      const hash = createHash("sha256");
      resolve({
        status: Number(headers[":status"]),
        resume: () =>
          new Promise((done, fail) => {
            stream.on("data", (chunk: Buffer) => hash.update(chunk));
            stream.on("error", fail);
            stream.on("end", () => {
              session.close();
              if (stream.rstCode !== undefined && stream.rstCode !== 0)
                fail(new Error(`the stream was reset (${stream.rstCode})`));
              else done(`sha256:${hash.digest("hex")}`);
            });
            stream.resume();
          }),
      });
    });
    stream.end();
  });
}
