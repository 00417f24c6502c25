/**
 * Passes a request a worker does not serve itself to the first worker, over its private socket,
 * and the answer back as it arrives (docs/adr/0036-worker-processes.md). The first worker runs
 * the whole pipeline on it again (client auth, routing, one upstream fill per digest), so the
 * answer is the one a single process would give. Hop-by-hop headers stay on their own hop.
 */

import type { ServerResponse } from "node:http";
import { Agent, type IncomingHttpHeaders, type IncomingMessage, request } from "node:http";
import { pipeline } from "node:stream/promises";
import { RegistryError } from "@regmirror/oci-distribution";

const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "http2-settings",
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    // HTTP/2 pseudo-headers (":path"...) are not headers of an HTTP/1.1 request.
    if (!hopByHop.has(name) && !name.startsWith(":")) kept[name] = value;
  }
  return kept;
}

export interface PrimaryForwarder {
  forward(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void>;
  close(): void;
}

export function createPrimaryForwarder(socketPath: string): PrimaryForwarder {
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 64 });
  return {
    async forward(incoming, response, requestId) {
      const answer = await new Promise<IncomingMessage>((resolve, reject) => {
        const outgoing = request({
          agent,
          socketPath,
          method: incoming.method,
          path: incoming.url,
          headers: { ...endToEnd(incoming.headers), "x-request-id": requestId },
        });
        outgoing.once("response", resolve);
        outgoing.once("error", () =>
          reject(
            new RegistryError("UNAVAILABLE", {
              message: "the cache's first worker did not answer",
            }),
          ),
        );
        response.once("close", () => {
          if (!response.writableFinished) outgoing.destroy();
        });
        void pipeline(incoming, outgoing).catch(() => outgoing.destroy());
      });
      const headers = endToEnd(answer.headers);
      delete headers["x-request-id"];
      // Header by header: this worker's X-Request-Id and X-Cache are then added only where the
      // first worker's answer has none (its X-Cache says what the cache did).
      for (const [name, value] of Object.entries(headers)) {
        if (value !== undefined) response.setHeader(name, value);
      }
      response.writeHead(answer.statusCode ?? 502);
      await pipeline(answer, response);
    },
    close: () => agent.destroy(),
  };
}
