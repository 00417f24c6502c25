// A pass-through HTTP proxy between the caches and the upstream registry that counts what
// the upstream serves. Runs as its own process so its work never competes with the bench
// clients' event loop. Usage: node counting-proxy.mjs PORT TARGET_URL
// GET /__bench/counters gives the counts as JSON; POST /__bench/reset zeroes them.
import http from "node:http";

const [portText, targetText] = process.argv.slice(2);
const target = new URL(targetText);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

let counters = emptyCounters();
function emptyCounters() {
  return { requests: 0, connections: 0, responseBytes: 0, byMethod: {}, byKind: {} };
}

/** manifests, blobs or other: the part of the OCI API a path belongs to. */
function kindOf(path) {
  if (path.includes("/manifests/")) return "manifests";
  if (path.includes("/blobs/")) return "blobs";
  return "other";
}

const server = http.createServer((request, response) => {
  if (request.url === "/__bench/counters") {
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify(counters));
    return;
  }
  if (request.url === "/__bench/reset") {
    counters = emptyCounters();
    response.end();
    return;
  }
  counters.requests += 1;
  counters.byMethod[request.method] = (counters.byMethod[request.method] ?? 0) + 1;
  const kind = kindOf(request.url);
  counters.byKind[kind] = (counters.byKind[kind] ?? 0) + 1;
  const upstreamRequest = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: request.method,
      path: request.url,
      headers: { ...request.headers, host: target.host },
      agent,
    },
    (upstreamResponse) => {
      response.writeHead(upstreamResponse.statusCode, upstreamResponse.headers);
      upstreamResponse.on("data", (chunk) => {
        counters.responseBytes += chunk.length;
      });
      upstreamResponse.pipe(response);
      response.once("close", () => upstreamResponse.destroy());
    },
  );
  upstreamRequest.once("error", () => {
    if (!response.headersSent) response.writeHead(502);
    response.destroy();
  });
  request.pipe(upstreamRequest);
});
server.on("connection", () => {
  counters.connections += 1;
});
server.keepAliveTimeout = 60_000;
server.listen(Number(portText), "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) process.once(signal, () => process.exit(0));
