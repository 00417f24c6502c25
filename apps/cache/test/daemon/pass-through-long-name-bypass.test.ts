// The exact reproduction of issue 12 §1: pass-through auth, a default upstream with Docker Hub's
// host names, an authorised pull of a private image (htpasswd upstream) and one through a private
// `corp` upstream (token auth); then anonymous and wrong-password GET, HEAD and Range of the
// manifest, config and layers by digest under one-component names of 248–255 characters, whose
// routed name `library/<name>` is longer than a repository name may be. None may get a 2xx.
import { join } from "node:path";
import {
  buildTestImage,
  makeTempDirectory,
  pushTestImage,
  removeTempDirectory,
  skopeoPull,
  startUpstreamRegistry,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { sendRequest } from "./https-request.js";
import { type InProcessCache, startInProcessCache } from "./in-process-cache.js";

const alice = { username: "alice", password: "alice-secret-password-1" };
const mirror = { username: "mirror", password: "mirror-secret-password-4" };

let directory: string;
let hub: UpstreamRegistry;
let corp: UpstreamRegistry;
let hubImage: TestImage;
let corpImage: TestImage;
let cache: InProcessCache | undefined;

function basic(user: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`;
}

/** The OCI error code of a body, or "(content)" when it is no error. */
function errorCodeOf(body: Buffer): string {
  try {
    return JSON.parse(body.toString("utf8")).errors[0].code;
  } catch {
    return "(content)";
  }
}

function digestsOf(image: TestImage): string[] {
  const manifest = image.manifests[0];
  return [image.digest, manifest?.configDigest ?? "", ...(manifest?.layerDigests ?? [])];
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-long-name-bypass-");
  hub = await startUpstreamRegistry({ auth: "htpasswd", users: [alice, mirror] });
  corp = await startUpstreamRegistry({
    auth: "token",
    users: [
      { ...alice, repositories: { "team/app": ["pull", "push"] } },
      { ...mirror, repositories: { "*": ["pull"] } },
    ],
  });
  hubImage = await buildTestImage({ seed: "long-name-bypass-hub", layers: [700] });
  corpImage = await buildTestImage({ seed: "long-name-bypass-corp", layers: [900] });
  await pushTestImage(hubImage, hub, "library/app", alice);
  await pushTestImage(corpImage, corp, "team/app", alice);
  cache = await startInProcessCache(`
http:
  addr: 127.0.0.1:0
regmirror:
  upstreams:
    - name: hub
      hosts: [docker.io, registry-1.docker.io, index.docker.io]
      endpoints: [${hub.url}]
      credentials: { username: ${mirror.username}, password: ${mirror.password} }
    - name: corp
      hosts: [corp.example.com]
      endpoints: [${corp.url}]
      credentials: { username: ${mirror.username}, password: ${mirror.password} }
  storage:
    filesystem:
      rootDirectory: ${join(directory, "store")}
  auth:
    mode: pass-through
    decisionTtl: 1m
`);
  const cacheHost = new URL(cache.url).host;
  const pulledFromHub = await skopeoPull(`${cacheHost}/app:${hubImage.tag}`, {
    tlsVerify: false,
    ...alice,
  });
  expect(pulledFromHub.digest).toBe(hubImage.digest);
  const pulledFromCorp = await skopeoPull(
    `${cacheHost}/corp.example.com/team/app:${corpImage.tag}`,
    {
      tlsVerify: false,
      ...alice,
    },
  );
  expect(pulledFromCorp.digest).toBe(corpImage.digest);
});

afterAll(async () => {
  await cache?.close();
  await hub?.stop();
  await corp?.stop();
  if (directory) await removeTempDirectory(directory);
});

const identities: [string, Record<string, string>][] = [
  ["anonymous", {}],
  ["wrong password", { Authorization: basic({ ...alice, password: "not-the-password" }) }],
];
const requests: [string, string, Record<string, string>][] = [
  ["GET", "GET", {}],
  ["HEAD", "HEAD", {}],
  ["Range", "GET", { Range: "bytes=0-9" }],
];

test.each([
  ["the default upstream (Docker Hub host names)", () => hubImage],
  ["the private corp upstream", () => corpImage],
])("content pulled through %s is refused under 248–255 character names", async (_, image) => {
  // "<status> <OCI error code>" → how many requests got it.
  const answers: Record<string, number> = {};
  let sent = 0;
  for (let length = 248; length <= 255; length += 1) {
    const name = "a".repeat(length);
    for (const [index, digest] of digestsOf(image()).entries()) {
      const endpoint = index === 0 ? "manifests" : "blobs";
      for (const [identity, headers] of identities) {
        for (const [label, method, extra] of requests) {
          const answer = await sendRequest(cache?.url ?? "", `/v2/${name}/${endpoint}/${digest}`, {
            method,
            headers: { ...headers, ...extra },
          });
          const code = method === "HEAD" ? "(HEAD)" : errorCodeOf(answer.body);
          const key = `${identity} ${label}: ${answer.status} ${code}`;
          answers[key] = (answers[key] ?? 0) + 1;
          sent += 1;
        }
      }
    }
  }
  const perCase = sent / (identities.length * requests.length);
  const expected: Record<string, number> = {};
  for (const [identity] of identities) {
    for (const [label, method] of requests) {
      expected[`${identity} ${label}: 400 ${method === "HEAD" ? "(HEAD)" : "NAME_INVALID"}`] =
        perCase;
    }
  }
  expect(answers).toEqual(expected);
  // The refusals are answered by the cache itself: nothing asked the upstreams about them.
  expect(cache?.logText()).not.toContain('"verdict":"invalid-input"');
});
