// The attacks of `pnpm bench:reliability` (docs/reliability.md). Each gets a fresh system (the
// regmirror cache or distribution's proxy) with a fresh store, in front of the real upstream
// docker-registry behind its own fault proxy from the test kit, and returns what a client saw
// as one line of text. The figures are what the attacker and the client can observe.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { residentBytes, watchPeakMemory } from "./memory.mjs";

const mib = 1024 * 1024;
const manifestAccept =
  "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/** "200, 1048576 of 1048576 bytes, complete, right digest" and the like. */
export function describeReceived(received, expectedDigest, sha256) {
  if (received.error) return `no answer (${received.error})`;
  const declared = received.headers["content-length"];
  const length = `${received.body.length}${declared ? ` of ${declared}` : ""} bytes`;
  if (received.status >= 400) {
    let message = "";
    try {
      message = `: ${JSON.parse(received.body.toString()).errors[0].message}`;
    } catch {
      message = "";
    }
    return `${received.status}${message}`;
  }
  const state = received.complete ? "complete" : "cut before the end";
  const digest =
    expectedDigest === undefined
      ? ""
      : sha256(received.body) === expectedDigest
        ? ", right digest"
        : received.complete
          ? ", WRONG digest"
          : "";
  return `${received.status}, ${length}, ${state}${digest}`;
}

/** Resolves with `promise`'s value, or `{ error: "no answer after N s" }` after `ms`. */
async function within(promise, ms) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ error: `no answer after ${ms / 1000} s` }), ms);
  });
  try {
    return await Promise.race([promise.catch((error) => ({ error: error.message })), late]);
  } finally {
    clearTimeout(timer);
  }
}

function filesUnder(directory) {
  const found = [];
  const walk = (current) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) found.push({ path, size: statSync(path).size });
    }
  };
  try {
    walk(directory);
  } catch {
    // not there
  }
  return found;
}

/** The attacks, in report order: { key, title, run(context) → text }. */
export function reliabilityAttacks(kit) {
  const sha256 = kit.sha256Digest;
  const get = (base, path, headers = {}) => kit.receiveResponse(`${base}${path}`, headers);

  /** A fresh image pushed under `repository`, and the digest of its one layer. */
  async function image(context, name, layerBytes) {
    const built = await kit.buildTestImage({ seed: `reliability ${name}`, layers: [layerBytes] });
    await kit.pushTestImage(built, context.upstream, `reliability/${name}`, { tag: "v1" });
    const layer = built.manifests[0].layerDigests[0];
    return { built, layer, bytes: built.blobs.get(layer), path: `/v2/reliability/${name}` };
  }

  /**
   * Pulls the one layer of a fresh image (`layerBytes` long) through a system whose store is on
   * a 16 MiB disk; gives back what the client received and the files then in the store.
   */
  async function pullLayerOntoSmallDisk(context, name, layerBytes) {
    const pushed = await image(context, name, layerBytes);
    const disk = kit.mountSmallDisk(16 * mib, "reliability-disk-");
    context.onCleanUp(() => disk.remove());
    const proxy = await context.faultProxy();
    const dataDirectory = join(disk.path, "data");
    const system = await context.start({ remoteUrl: proxy.url, dataDirectory });
    const answer = await within(get(system.url, `${pushed.path}/blobs/${pushed.layer}`), 120_000);
    // The store finishes its write after the answer ends: give it a moment before looking.
    await sleep(1_000);
    return { ...pushed, answer, files: filesUnder(dataDirectory) };
  }

  function bodyFault(name, rule) {
    return {
      key: name,
      run: async (context) => {
        const { layer, path } = await image(context, name, mib);
        const proxy = await context.faultProxy();
        const system = await context.start({ remoteUrl: proxy.url });
        proxy.setFault({ method: "GET", path: new RegExp(`/blobs/${layer}`), ...rule });
        const first = await within(get(system.url, `${path}/blobs/${layer}`), 120_000);
        proxy.setFault(undefined);
        await sleep(500);
        const later = await within(get(system.url, `${path}/blobs/${layer}`), 120_000);
        return `${describeReceived(first, layer, sha256)}; next pull: ${describeReceived(later, layer, sha256)}`;
      },
    };
  }

  return [
    {
      title: "a corrupted byte in a 1 MiB blob",
      ...bodyFault("corrupt", { corruptByteAt: 500_000 }),
    },
    {
      title: "a blob cut after 300 kB (every attempt)",
      ...bodyFault("cut", { cutAfterBytes: 300_000 }),
    },
    {
      title: "Content-Length 1000 bytes longer than the body",
      ...bodyFault("length-long", { framing: "content-length-long" }),
    },
    {
      title: "Content-Length half the body",
      ...bodyFault("length-short", { framing: "content-length-short" }),
    },
    {
      title: "a chunked body that ends early (clean last chunk)",
      ...bodyFault("chunked-short", { framing: "chunked-short" }),
    },
    {
      key: "manifest-mismatch",
      title: "a manifest whose bytes do not match its digest",
      run: async (context) => {
        const { built, path } = await image(context, "manifest-mismatch", 1000);
        const proxy = await context.faultProxy();
        const system = await context.start({ remoteUrl: proxy.url });
        proxy.setFault({ method: "GET", path: /\/manifests\//, corruptByteAt: 20 });
        const byDigest = await within(
          get(system.url, `${path}/manifests/${built.digest}`, { accept: manifestAccept }),
          120_000,
        );
        return `by digest: ${describeReceived(byDigest, built.digest, sha256)}`;
      },
    },
    ...[false, true].map((chunked) => ({
      key: `oversized-manifest${chunked ? "-chunked" : ""}`,
      title: `a 100 MiB manifest${chunked ? " (chunked)" : " (with Content-Length)"}`,
      run: async (context) => {
        const { built, path } = await image(context, `oversized-${chunked}`, 1000);
        const proxy = await context.faultProxy();
        const system = await context.start({ remoteUrl: proxy.url });
        proxy.setFault({
          method: "GET",
          path: /\/manifests\//,
          oversizedBody: { bytes: 100 * mib, chunked },
        });
        const before = residentBytes(system.pids);
        const watching = watchPeakMemory(system.pids, 20);
        const answer = await within(
          get(system.url, `${path}/manifests/${built.digest}`, { accept: manifestAccept }),
          120_000,
        );
        const peak = watching.stop().peakBytes;
        await sleep(300);
        const sent = proxy
          .requests()
          .filter((request) => request.method === "GET")
          .reduce((sum, request) => sum + request.bodyBytesSent, 0);
        return `${describeReceived(answer, undefined, sha256)}; ${(sent / mib).toFixed(1)} MiB of it left the upstream (socket buffers included); resident memory ${(before / mib).toFixed(0)} → ${(peak / mib).toFixed(0)} MiB`;
      },
    })),
    {
      key: "smuggling",
      title: "request smuggling on a raw socket (CL+TE, two CLs, obs-fold, bare LF)",
      run: async (context) => {
        const proxy = await context.faultProxy();
        const system = await context.start({ remoteUrl: proxy.url });
        const smuggled =
          "GET /v2/reliability/smuggled/manifests/v1 HTTP/1.1\r\nHost: cache\r\n\r\n";
        const attacks = {
          "CL+TE": `POST /v2/ HTTP/1.1\r\nHost: cache\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
          "two CLs": `POST /v2/ HTTP/1.1\r\nHost: cache\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
          "obs-fold": `GET /v2/ HTTP/1.1\r\nHost: cache\r\nX-Folded: a\r\n b\r\n\r\n${smuggled}`,
          "bare LF": `GET /v2/ HTTP/1.1\nHost: cache\nX-A: b\n\n${smuggled}`,
        };
        const results = [];
        for (const [name, bytes] of Object.entries(attacks)) {
          proxy.resetCounts();
          const answer = await kit.rawHttpExchange(system.url, bytes);
          await sleep(300);
          const statuses = (answer.text.match(/HTTP\/1\.[01] \d{3}/g) ?? []).map((line) =>
            line.slice(-3),
          );
          const ran = proxy.requestCount(/smuggled/) > 0 ? ", smuggled request sent upstream" : "";
          results.push(
            `${name}: ${statuses.join("+") || "no answer"}${answer.closed ? ", closed" : ", left open"}${ran}`,
          );
        }
        return results.join("; ");
      },
    },
    {
      key: "kill-mid-pull",
      title: "SIGKILL in the middle of a 64 MiB download, then a restart",
      run: async (context) => {
        const { layer, path } = await image(context, "kill", 64 * mib);
        const proxy = await context.faultProxy();
        const dataDirectory = join(context.work, "kill-data");
        const system = await context.start({ remoteUrl: proxy.url, dataDirectory });
        proxy.setFault({ method: "GET", path: /\/blobs\//, throttleBytesPerSecond: 16 * mib });
        const pulling = get(system.url, `${path}/blobs/${layer}`).catch(() => undefined);
        // Kill once a quarter of the blob has come from upstream.
        const bodySent = () =>
          proxy
            .requests()
            .filter((request) => request.method === "GET" && request.path.includes(layer))
            .reduce((sum, request) => sum + request.bodyBytesSent, 0);
        for (let waited = 0; bodySent() < 16 * mib && waited < 120_000; waited += 100) {
          await sleep(100);
        }
        system.kill();
        await system.exited;
        await pulling;
        const blobNamed = (file) => file.path.endsWith(layer.slice("sha256:".length));
        const left = filesUnder(dataDirectory).filter((file) => !file.path.endsWith("lock"));
        proxy.setFault(undefined);
        const restarted = await context.start({ remoteUrl: proxy.url, dataDirectory });
        await sleep(500);
        const afterRestart = filesUnder(dataDirectory).filter(
          (file) => file.size > 1024 && !blobNamed(file),
        );
        const again = await within(get(restarted.url, `${path}/blobs/${layer}`), 120_000);
        const partial = afterRestart.reduce((sum, file) => sum + file.size, 0);
        return `at the kill: ${left.length} files; after the restart: ${afterRestart.length} files of partial data (${(partial / mib).toFixed(1)} MiB) left; re-pull: ${describeReceived(again, layer, sha256)}`;
      },
    },
    {
      key: "black-hole",
      title: "an upstream that accepts TCP and never answers",
      run: async (context) => {
        const cached = await image(context, "hole-cached", 1000);
        const uncached = await image(context, "hole-uncached", 1000);
        const proxy = await context.faultProxy();
        const system = await context.start({ remoteUrl: proxy.url });
        await get(system.url, `${cached.path}/manifests/v1`, { accept: manifestAccept });
        proxy.setFault({ delayMs: 3_600_000 });
        const timed = async (path) => {
          const started = Date.now();
          const answer = await within(get(system.url, path, { accept: manifestAccept }), 200_000);
          const seconds = ((Date.now() - started) / 1000).toFixed(1);
          return `${answer.error ? answer.error : answer.status} after ${seconds} s`;
        };
        const [known, unknown] = await Promise.all([
          timed(`${cached.path}/manifests/v1`),
          timed(`${uncached.path}/manifests/v1`),
        ]);
        return `a cached tag: ${known}; an uncached tag: ${unknown}`;
      },
    },
    {
      key: "refused",
      title: "an upstream that is stopped (connection refused): five lookups of a cached tag",
      run: async (context) => {
        const cached = await image(context, "refused", 1000);
        const proxy = await context.faultProxy();
        const system = await context.start({ remoteUrl: proxy.url });
        await get(system.url, `${cached.path}/manifests/v1`, { accept: manifestAccept });
        await proxy.stop();
        const times = [];
        for (let lookup = 0; lookup < 5; lookup += 1) {
          const started = Date.now();
          const answer = await within(
            get(system.url, `${cached.path}/manifests/v1`, { accept: manifestAccept }),
            120_000,
          );
          times.push(
            `${answer.error ? "none" : answer.status} in ${((Date.now() - started) / 1000).toFixed(2)} s`,
          );
        }
        return times.join(", ");
      },
    },
    {
      key: "disk-once",
      title: "a 10 MiB blob on a store with 16 MiB of disk: is it kept?",
      run: async (context) => {
        const { layer, bytes, answer, files } = await pullLayerOntoSmallDisk(
          context,
          "disk-once",
          10 * mib,
        );
        const hex = layer.slice("sha256:".length);
        const kept = files.some((file) => file.path.includes(hex) && file.size === bytes.length);
        return `${describeReceived(answer, layer, sha256)}; ${kept ? "kept in the store" : "NOT kept"}`;
      },
    },
    {
      key: "disk-full",
      title: "a 24 MiB blob on a store with 16 MiB of disk",
      run: async (context) => {
        const { layer, answer, files } = await pullLayerOntoSmallDisk(
          context,
          "disk-full",
          24 * mib,
        );
        const left = files.reduce((sum, file) => sum + file.size, 0);
        return `${describeReceived(answer, layer, sha256)}; ${(left / mib).toFixed(1)} MiB left on the disk`;
      },
    },
    {
      key: "redirect",
      title: "a cross-origin redirect of a blob, with upstream credentials",
      run: async (context) => {
        const [registry, storageRegistry] = await Promise.all([
          kit.startUpstreamRegistry({ auth: "htpasswd" }),
          kit.startUpstreamRegistry(),
        ]);
        context.onCleanUp(() => registry.stop());
        context.onCleanUp(() => storageRegistry.stop());
        const built = await kit.buildTestImage({ seed: "reliability redirect", layers: [4000] });
        await kit.pushTestImage(built, registry, "reliability/private", { tag: "v1" });
        await kit.pushTestImage(built, storageRegistry, "reliability/private", { tag: "v1" });
        const proxy = await context.faultProxy(registry.url);
        const storage = await context.faultProxy(storageRegistry.url);
        proxy.setFault({ method: "GET", path: /\/blobs\//, redirectTo: storage.url });
        const system = await context.start({
          remoteUrl: proxy.url,
          credentials: {
            username: registry.users[0].username,
            password: registry.users[0].password,
          },
        });
        const layer = built.manifests[0].layerDigests[0];
        const manifest = await get(system.url, "/v2/reliability/private/manifests/v1", {
          accept: manifestAccept,
        });
        const blob = await within(
          get(system.url, `/v2/reliability/private/blobs/${layer}`),
          60_000,
        );
        const toStorage = storage.requests().filter((request) => request.path.includes(layer));
        const leaked = toStorage.filter((request) => request.headers.authorization !== undefined);
        return `manifest ${manifest.status}, blob ${describeReceived(blob, layer, sha256)}; storage host got ${toStorage.length} requests, ${leaked.length} with the Authorization header`;
      },
    },
  ];
}
