import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createFilesystemBlobStore } from "@regmirror/blob-store";
import { SecretValue } from "@regmirror/schemas";
import {
  buildTestImage,
  makeTempDirectory,
  pushTestImage,
  skopeoPull,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPullThroughStorage, PullThroughError } from "../../src/pull-through/index.js";
import { type CacheUnderTest, fetchAll, startCache } from "./pull-through-harness.js";

const plainHttp = { tlsVerify: false };

describe("upstream credentials and CA bundles", () => {
  let upstream: UpstreamRegistry;
  let image: TestImage;
  let caFile: string;
  let dockerConfigFile: string;
  const caches: CacheUnderTest[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamRegistry({ tls: true, auth: "htpasswd" });
    image = await buildTestImage({ seed: "upstream-access", layers: [4_000] });
    await pushTestImage(image, upstream, "private/app", { tag: "v1" });
    const directory = makeTempDirectory("regmirror-upstream-access-");
    caFile = join(directory, "upstream-ca.pem");
    writeFileSync(caFile, upstream.ca ?? "");
    const user = upstream.users[0];
    dockerConfigFile = join(directory, "config.json");
    const auth = Buffer.from(`${user?.username}:${user?.password}`).toString("base64");
    writeFileSync(dockerConfigFile, JSON.stringify({ auths: { [upstream.host]: { auth } } }));
  });

  afterAll(async () => {
    for (const cache of caches) await cache.stop();
    await upstream?.stop();
  });

  async function cacheWith(
    credentials: Parameters<typeof startCache>[0]["upstreams"][number]["credentials"],
  ) {
    const cache = await startCache({
      upstreams: [
        {
          name: "private",
          hosts: [upstream.host],
          endpoints: [upstream.url],
          credentials,
          caFiles: [caFile],
        },
      ],
      defaultUpstream: "private",
    });
    caches.push(cache);
    return cache;
  }

  it("pulls from a TLS upstream with the configured CA and username/password", async () => {
    const user = upstream.users[0];
    const cache = await cacheWith({
      kind: "basic",
      username: user?.username ?? "",
      password: new SecretValue(user?.password ?? ""),
    });
    const pulled = await skopeoPull(`${cache.host}/private/app:v1`, plainHttp);
    expect(pulled.digest).toBe(image.digest);
  });

  it("pulls with the credentials of a Docker config file", async () => {
    const cache = await cacheWith({ kind: "docker-config", file: dockerConfigFile });
    const pulled = await skopeoPull(`${cache.host}/private/app:v1`, plainHttp);
    expect(pulled.digest).toBe(image.digest);
  });

  it("answers DENIED, without credentials in the message, when upstream refuses the cache", async () => {
    const cache = await cacheWith({
      kind: "basic",
      username: "tester",
      password: new SecretValue("wrong-secret"),
    });
    const refused = await fetchAll(`${cache.url}/v2/private/app/manifests/v1`);
    expect(refused.status).toBe(403);
    const text = refused.body.toString("utf8");
    expect(JSON.parse(text).errors[0].code).toBe("DENIED");
    expect(text).not.toContain("wrong-secret");
  });

  it("refuses to start when a CA bundle cannot be read, naming the file", async () => {
    const directory = makeTempDirectory("regmirror-broken-ca-");
    const blobStore = await createFilesystemBlobStore({ rootDirectory: join(directory, "store") });
    const attempt = createPullThroughStorage({
      upstreams: [
        {
          name: "broken",
          hosts: ["broken.test"],
          endpoints: ["https://broken.test"],
          credentials: { kind: "none" },
          caFiles: ["/nonexistent/ca.pem"],
        },
      ],
      defaultUpstream: "broken",
      blobStore,
      spoolDirectory: join(directory, "spool"),
      tagFreshnessMs: 0,
    });
    await expect(attempt).rejects.toThrow(PullThroughError);
    await expect(attempt).rejects.toThrow("/nonexistent/ca.pem");
    await blobStore.close();
  });
});
