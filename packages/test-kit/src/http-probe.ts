// One HTTP GET's status, for readiness checks.
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
