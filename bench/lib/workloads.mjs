// The client side of every workload: undici clients that read and discard bodies, a HEAD
// load loop with a fixed request count, and skopeo for end-to-end pulls.
import { rm } from "node:fs/promises";
import { manifestAccept } from "./media-types.mjs";
import { runCommand } from "./processes.mjs";
import { Agent, buildConnector, request } from "./undici.mjs";

const requestTimeouts = { headersTimeout: 300_000, bodyTimeout: 300_000 };

/**
 * An undici Agent that counts the TCP connections it opens (in `agent.openedConnections`).
 * `transport`: `{ ca }` to trust a TLS server, `http2: true` to offer HTTP/2 (ALPN), in which
 * case requests of one client share one connection as streams.
 */
function newAgent(connections, transport = {}) {
  const http2 = transport.http2 === true;
  const connect = buildConnector({
    ...(transport.ca ? { ca: transport.ca } : {}),
    ...(http2 ? { allowH2: true } : {}),
  });
  const agent = new Agent({
    connections,
    keepAliveTimeout: 30_000,
    // Go's HTTP/2 client windows (4 MiB per stream, 1 GiB per connection), as containerd and
    // skopeo use them; undici's defaults (256/512 KiB) would measure undici's flow control.
    ...(http2
      ? { allowH2: true, h2Options: { initialWindowSize: 4 << 20, connectionWindowSize: 1 << 30 } }
      : {}),
    ...requestTimeouts,
    connect: (connectOptions, callback) => {
      agent.openedConnections += 1;
      return connect(connectOptions, callback);
    },
  });
  agent.openedConnections = 0;
  return agent;
}

function seconds(startedNs) {
  return Number(process.hrtime.bigint() - startedNs) / 1e9;
}

/**
 * GET that reads and discards the body; returns its length; throws on a non-200. Follows one
 * 307 as runtimes do (a cache that redirects blob GETs to presigned S3 URLs), without headers.
 */
export async function fetchAndDiscard(dispatcher, url, headers = {}) {
  let response = await request(url, { dispatcher, headers });
  if (response.statusCode === 307 && typeof response.headers.location === "string") {
    await response.body.dump();
    response = await request(new URL(response.headers.location, url), { dispatcher });
  }
  if (response.statusCode !== 200) {
    const text = await response.body.text().catch(() => "");
    throw new Error(`GET ${url}: HTTP ${response.statusCode} ${text.slice(0, 200)}`);
  }
  let length = 0;
  await new Promise((resolve, reject) => {
    response.body.on("data", (chunk) => {
      length += chunk.length;
    });
    response.body.once("end", resolve);
    response.body.once("error", reject);
  });
  return length;
}

/**
 * One client pulling an image like a runtime does: the manifest by tag, then config and
 * layers at once. Checks every length against the manifest; returns bytes received.
 */
async function pullImage(dispatcher, baseUrl, repository, tag, image) {
  let total = await fetchAndDiscard(dispatcher, `${baseUrl}/v2/${repository}/manifests/${tag}`, {
    accept: manifestAccept,
  });
  const lengths = await Promise.all(
    [image.config, ...image.layers].map(async (blob) => {
      const length = await fetchAndDiscard(
        dispatcher,
        `${baseUrl}/v2/${repository}/blobs/${blob.digest}`,
      );
      if (length !== blob.size) {
        throw new Error(`${blob.digest}: got ${length} bytes, expected ${blob.size}`);
      }
      return length;
    }),
  );
  for (const length of lengths) total += length;
  return total;
}

/** `clients` separate clients (own connections each) pull the image at once. */
export async function concurrentPull({ baseUrl, repository, tag, image, clients, transport }) {
  const agents = Array.from({ length: clients }, () => newAgent(4, transport));
  const started = process.hrtime.bigint();
  const results = await Promise.allSettled(
    agents.map((agent) => pullImage(agent, baseUrl, repository, tag, image)),
  );
  const wallSeconds = seconds(started);
  const connections = agents.reduce((sum, agent) => sum + agent.openedConnections, 0);
  await Promise.all(agents.map((agent) => agent.close()));
  const failures = results.filter((result) => result.status === "rejected");
  const bytes = results.reduce(
    (sum, result) => sum + (result.status === "fulfilled" ? result.value : 0),
    0,
  );
  return {
    wallSeconds,
    bytes,
    errors: failures.length,
    firstError: failures[0]?.reason?.message,
    megabytesPerSecond: bytes / 1e6 / wallSeconds,
    connections,
  };
}

function percentile(sorted, fraction) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/**
 * `total` HEAD requests on one URL, `concurrency` at a time (after a short warm-up); with
 * `durationSeconds` instead, as many as fit in that time.
 */
export async function headLoad({
  url,
  total,
  durationSeconds,
  concurrency,
  warmUp = 200,
  transport,
}) {
  const agent = newAgent(concurrency, transport);
  const headers = { accept: manifestAccept };
  let errors = 0;
  let firstError;
  const run = async (count, latencies, deadline) => {
    let issued = 0;
    const worker = async () => {
      while (deadline === undefined ? issued < count : process.hrtime.bigint() < deadline) {
        issued += 1;
        const started = process.hrtime.bigint();
        try {
          // undici closes the connection after every HEAD unless told `reset: false`
          // (it guards against servers that send a body anyway); runtimes keep it open.
          const response = await request(url, {
            method: "HEAD",
            dispatcher: agent,
            headers,
            reset: false,
          });
          await response.body.dump();
          if (response.statusCode !== 200) throw new Error(`HEAD ${url}: ${response.statusCode}`);
          latencies?.push(Number(process.hrtime.bigint() - started) / 1e6);
        } catch (error) {
          errors += 1;
          firstError ??= error.message;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await run(warmUp);
  errors = 0;
  const latencies = [];
  const started = process.hrtime.bigint();
  const deadline =
    durationSeconds === undefined ? undefined : started + BigInt(durationSeconds * 1e9);
  await run(total, latencies, deadline);
  const wallSeconds = seconds(started);
  await agent.close();
  const answered = latencies.length + errors;
  latencies.sort((a, b) => a - b);
  return {
    // More connections than `concurrency` means the server closed kept-alive connections.
    connections: agent.openedConnections,
    requests: answered,
    requestsPerSecond: answered / wallSeconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    errors,
    firstError,
  };
}

/** Every blob once, by digest, `concurrency` at a time. */
export async function fetchBlobs({ baseUrl, repository, blobs, concurrency, transport }) {
  const agent = newAgent(concurrency, transport);
  let next = 0;
  let errors = 0;
  let firstError;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < blobs.length) {
      const blob = blobs[next];
      next += 1;
      try {
        const length = await fetchAndDiscard(
          agent,
          `${baseUrl}/v2/${repository}/blobs/${blob.digest}`,
        );
        if (length !== blob.size) throw new Error(`${blob.digest}: ${length} bytes`);
      } catch (error) {
        errors += 1;
        firstError ??= error.message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallSeconds = seconds(started);
  const connections = agent.openedConnections;
  await agent.close();
  return {
    wallSeconds,
    blobsPerSecond: blobs.length / wallSeconds,
    errors,
    firstError,
    connections,
  };
}

/** skopeo copy docker://HOST/REPO:TAG dir:DEST (skopeo checks every digest); then removes DEST. */
export async function skopeoPull({ host, repository, tag, destination }) {
  const result = await runCommand(
    "skopeo",
    [
      "copy",
      "--quiet",
      "--src-tls-verify=false",
      `docker://${host}/${repository}:${tag}`,
      `dir:${destination}`,
    ],
    { timeoutMs: 300_000 },
  ).catch((error) => ({ code: error.message, stderr: error.message, seconds: Number.NaN }));
  await rm(destination, { recursive: true, force: true });
  return {
    wallSeconds: result.seconds,
    errors: result.code === 0 ? 0 : 1,
    firstError: result.code === 0 ? undefined : result.stderr.trim().slice(-300),
  };
}
