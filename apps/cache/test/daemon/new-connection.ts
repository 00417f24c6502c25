// A GET on a connection of its own (no agent): with several workers on one port the kernel picks
// the worker per connection, so many of these reach every worker.
import { request } from "node:http";

export function getOnNewConnection(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { agent: false, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }),
      );
      response.once("error", reject);
    });
    outgoing.once("error", reject);
    outgoing.end();
  });
}
