// HTTP probes for tests: one GET's status, and a download paused in flight.
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** The status of a GET (body discarded); `ca` is trusted for https. Rejects on network errors. */
export async function httpGetStatus(
  url: string,
  options: { ca?: string; timeoutMs?: number } = {},
): Promise<number> {
  const request = url.startsWith("https:") ? httpsRequest : httpRequest;
  return await new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      { method: "GET", ca: options.ca, timeout: options.timeoutMs ?? 2_000 },
      (response) => {
        response.resume();
        response.once("end", () => resolve(response.statusCode ?? 0));
        response.once("error", reject);
      },
    );
    req.once("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.once("error", reject);
    req.end();
  });
}

/** A GET whose body is read only when `resume()` is called: a download in flight. */
export interface PausedDownload {
  status: number;
  /** Reads the rest; resolves with the `sha256:` digest of the whole body, rejects if it was cut. */
  resume(): Promise<string>;
}

export function startPausedDownload(
  url: string,
  options: { ca?: string } = {},
): Promise<PausedDownload> {
  const request = url.startsWith("https:") ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", ca: options.ca, agent: false }, (response) => {
      response.pause();
      resolve({
        status: response.statusCode ?? 0,
        resume: () =>
          new Promise((done, fail) => {
            const hash = createHash("sha256");
            response.on("data", (chunk: Buffer) => hash.update(chunk));
            response.on("error", fail);
            response.on("aborted", () => fail(new Error(`GET ${url}: the download was cut`)));
            response.on("end", () =>
              response.complete
                ? done(`sha256:${hash.digest("hex")}`)
                : fail(new Error(`GET ${url}: the download was cut`)),
            );
            response.resume();
          }),
      });
    });
    req.once("error", reject);
    req.end();
  });
}
