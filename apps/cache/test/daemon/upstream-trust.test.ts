// Upstream TLS as a migration from distribution meets it: a private registry whose CA is in the
// operating system's store (SSL_CERT_FILE here) is trusted without any regmirror key; the
// proxy: form can name a CA with regmirror.caBundles; without the CA anywhere, every upstream
// call fails TLS. Also: REGISTRY_* variables choose the upstream, serve without a FILE says it
// runs the built-in default, and log.formatter: text. The production bundle runs as a process
// (trust is process-wide) in front of a real docker-registry over TLS.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildTestImage,
  makeTempDirectory,
  pushTestImage,
  removeTempDirectory,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type CacheProcess, startCacheProcess } from "./cache-process.js";
import { sendRequest } from "./https-request.js";
import { buildProductionBundle } from "./production-bundle.js";

let directory: string;
let bundle: string;
let upstream: UpstreamRegistry;
let image: TestImage;
let caFile: string;
let emptyFile: string;
let emptyDirectory: string;
const running: CacheProcess[] = [];

/** The environment of a cache whose operating system trusts only the CAs in `certFile`. */
function trusting(certFile: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SSL_CERT_FILE: certFile,
    SSL_CERT_DIR: emptyDirectory,
  };
  delete env.NODE_EXTRA_CA_CERTS;
  for (const name of Object.keys(env)) if (name.startsWith("REGISTRY_")) delete env[name];
  return { ...env, ...extra };
}

async function start(args: string[], env: NodeJS.ProcessEnv): Promise<CacheProcess> {
  const cache = await startCacheProcess(bundle, args, directory, { env });
  running.push(cache);
  return cache;
}

function manifest(cache: CacheProcess) {
  return sendRequest(cache.url, `/v2/team/private/manifests/${image.tag}`, {
    headers: { Accept: image.mediaType },
  });
}

function writeConfig(name: string, text: string): string {
  const file = join(directory, name);
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-cache-trust-");
  [bundle, upstream] = await Promise.all([
    buildProductionBundle(),
    startUpstreamRegistry({ tls: true }),
  ]);
  image = await buildTestImage({ seed: "upstream-trust", layers: [1024] });
  await pushTestImage(image, upstream, "team/private");
  caFile = join(directory, "corp-ca.pem");
  writeFileSync(caFile, upstream.ca ?? "");
  emptyFile = join(directory, "no-certificates.pem");
  writeFileSync(emptyFile, "");
  emptyDirectory = join(directory, "no-certificates.d");
  mkdirSync(emptyDirectory);
});

afterAll(async () => {
  for (const cache of running) await cache.stop();
  await upstream?.stop();
  if (directory) await removeTempDirectory(directory);
});

test("the operating system's store is trusted, as distribution trusts it; REGISTRY_PROXY_REMOTEURL names the upstream; text logs", async () => {
  const file = writeConfig(
    "text-log.yml",
    `version: 0.1
log:
  formatter: text
http:
  addr: 127.0.0.1:0
storage:
  filesystem:
    rootdirectory: ${join(directory, "data-system")}
`,
  );
  const cache = await start([file], trusting(caFile, { REGISTRY_PROXY_REMOTEURL: upstream.url }));
  const answer = await manifest(cache);
  expect(answer.status).toBe(200);
  expect(answer.headers["docker-content-digest"]).toBe(image.digest);
  expect(await cache.stop()).toBe(0);
  const lines = cache.stdout().trim().split("\n");
  expect(lines[0]).toMatch(
    /^time=\S+ level=info msg=starting service=regmirror-cache version=\S+ nodeVersion=\S+ configFile=\S+text-log\.yml environmentOverrides=REGISTRY_PROXY_REMOTEURL$/,
  );
  expect(lines.some((line) => / msg=request .*\bstatus=200\b/.test(line))).toBe(true);
  expect(lines.every((line) => line.startsWith("time="))).toBe(true);
});

test("without the upstream's CA in any store, every upstream call fails TLS", async () => {
  const file = writeConfig(
    "untrusted.yml",
    `http:\n  addr: 127.0.0.1:0\nstorage:\n  filesystem:\n    rootdirectory: ${join(directory, "data-none")}\nproxy:\n  remoteurl: ${upstream.url}\n`,
  );
  const cache = await start([file], trusting(emptyFile));
  const answer = await manifest(cache);
  expect(answer.status).toBe(503);
  expect(answer.body.toString("utf8")).toMatch(/tls/i);
});

test("regmirror.caBundles trusts a CA for the proxy: upstream, which has no CA key of its own", async () => {
  const file = writeConfig(
    "ca-bundles.yml",
    `http:\n  addr: 127.0.0.1:0\nstorage:\n  filesystem:\n    rootdirectory: ${join(directory, "data-bundle")}\nproxy:\n  remoteurl: ${upstream.url}\nregmirror:\n  caBundles: [${caFile}]\n`,
  );
  const cache = await start([file], trusting(emptyFile));
  expect((await manifest(cache)).status).toBe(200);
});

test("serve without a FILE runs the built-in default and says so in its first lines", async () => {
  const cache = await start(
    [],
    trusting(emptyFile, {
      REGISTRY_HTTP_ADDR: "127.0.0.1:0",
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(directory, "data-default"),
    }),
  );
  const [starting, builtIn] = cache.logLines();
  expect(starting).toMatchObject({ msg: "starting", configFile: null });
  expect(builtIn).toMatchObject({
    level: "warn",
    upstreams: ["https://registry-1.docker.io"],
    msg: expect.stringMatching(/^no configuration file named: running the built-in default/),
  });
  expect(await cache.stop()).toBe(0);
});
