// Pass-through auth cannot be bypassed (issue 12 §1). One cache in pass-through mode with two
// real docker-registry upstreams: `hub` with token auth (per-user rights) under Docker Hub's host
// names, the default upstream, and a private `corp` with htpasswd auth. An authorised user has
// pulled private images through both. Then:
// - the exact reproduction: anonymous and wrong-password GET, HEAD and Range of the
//   manifest, config and layers by digest under one-component names of 248–255 characters,
//   whose routed name `library/<name>` is longer than a repository name may be;
// - a property (fast-check) over every route form the cache accepts: no request by an anonymous
//   client, a wrong password or a user without rights to the repository is answered 2xx,
//   whatever the name (1–255 characters, 1–5 components), the form (default upstream, host
//   prefix, `?ns=`), the object (manifest by tag or digest, config, layer) and the method.
import { join } from "node:path";
import {
  buildTestImage,
  makeTempDirectory,
  pushTestImage,
  skopeoPull,
  startUpstreamRegistry,
  stopAll,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { alice, bob, mirror } from "./client-auth-users.js";
import { basicAuthorization, sendRequest } from "./https-request.js";
import { type InProcessCache, startInProcessCache } from "./in-process-cache.js";

let directory: string;
let hub: UpstreamRegistry;
let corp: UpstreamRegistry;
let hubImage: TestImage;
let corpImage: TestImage;
let cache: InProcessCache | undefined;

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-pass-through-bypass-");
  hub = await startUpstreamRegistry({
    auth: "token",
    users: [
      { ...alice, repositories: { "library/app": ["pull", "push"], "team/app": ["pull", "push"] } },
      { ...bob, repositories: { "bob/*": ["pull", "push"] } },
      { ...mirror, repositories: { "*": ["pull"] } },
    ],
  });
  corp = await startUpstreamRegistry({ auth: "htpasswd", users: [alice, mirror] });
  hubImage = await buildTestImage({ seed: "pass-through-bypass-hub", layers: [600, 300] });
  corpImage = await buildTestImage({ seed: "pass-through-bypass-corp", layers: [500] });
  await pushTestImage(hubImage, hub, "library/app", alice);
  await pushTestImage(hubImage, hub, "team/app", alice);
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
      hosts: [corp.example.com, "corp.example.com:5000"]
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
  for (const [reference, image] of [
    [`app:${hubImage.tag}`, hubImage],
    [`docker.io/team/app:${hubImage.tag}`, hubImage],
    [`corp.example.com/team/app:${corpImage.tag}`, corpImage],
  ] as const) {
    const pulled = await skopeoPull(`${cacheHost}/${reference}`, { tlsVerify: false, ...alice });
    expect(pulled.digest).toBe(image.digest);
  }
});

afterAll(() => stopAll(cache, hub, corp, directory));

const wrongPassword = {
  Authorization: basicAuthorization({ ...alice, password: "not-the-password" }),
};

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

describe("the reproduction of issue 12", () => {
  const identities: [string, Record<string, string>][] = [
    ["anonymous", {}],
    ["wrong password", wrongPassword],
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
    // "<identity> <request>: <status> <OCI error code>" → how many requests got it.
    const answers: Record<string, number> = {};
    let sent = 0;
    for (let length = 248; length <= 255; length += 1) {
      const name = "a".repeat(length);
      for (const [index, digest] of digestsOf(image()).entries()) {
        const endpoint = index === 0 ? "manifests" : "blobs";
        for (const [identity, headers] of identities) {
          for (const [label, method, extra] of requests) {
            const path = `/v2/${name}/${endpoint}/${digest}`;
            const answer = await sendRequest(cache?.url ?? "", path, {
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
        const code = method === "HEAD" ? "(HEAD)" : "NAME_INVALID";
        expected[`${identity} ${label}: 400 ${code}`] = perCase;
      }
    }
    expect(answers).toEqual(expected);
    // Refused by the cache itself, before an upstream was asked about the name.
    expect(cache?.logText()).not.toContain('"verdict":"invalid-input"');
  });
});

/** `/v2/<path>` of an object of a repository, in one of the forms the cache accepts. */
function requestPath(form: string, host: string, name: string, object: string): string {
  if (form === "default") return `/v2/${name}/${object}`;
  if (form === "host prefix") return `/v2/${host}/${name}/${object}`;
  return `/v2/${name}/${object}?ns=${host}`;
}

/** The components joined and cut or padded to exactly `length`, still a valid name. */
function fitName(components: string[], length: number, pad: string): string {
  let name = components.join("/").slice(0, length);
  // A cut may end the name on a separator; a name ends on a letter or digit.
  name = name.replace(/[^a-z0-9]$/, pad);
  return name + pad.repeat(length - name.length);
}

const component = fc.stringMatching(/^[a-z0-9]{1,12}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,12}){0,2}$/);
const generatedName = fc
  .record({
    components: fc.array(component, { minLength: 1, maxLength: 5 }),
    length: fc.oneof(fc.integer({ min: 1, max: 255 }), fc.integer({ min: 240, max: 255 })),
    pad: fc.constantFrom("a", "z", "7"),
  })
  .map(({ components, length, pad }) => fitName(components, length, pad));
const name = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("app", "library/app", "team/app", "bob/app") },
  { weight: 1, arbitrary: fc.integer({ min: 247, max: 255 }).map((n) => "a".repeat(n)) },
  { weight: 4, arbitrary: generatedName },
);

describe("property: pass-through auth over every route form", () => {
  test("no 2xx for anyone without rights, on any route, name, object or method", async () => {
    const tags = [hubImage.tag, corpImage.tag];
    const digests = [hubImage, corpImage].flatMap((image) => [
      image.digest,
      ...image.manifests.flatMap((manifest) => [manifest.configDigest, ...manifest.layerDigests]),
    ]);
    const object = fc.oneof(
      fc.constantFrom(...tags).map((tag) => `manifests/${tag}`),
      fc.constantFrom(...digests).map((digest) => `manifests/${digest}`),
      fc.constantFrom(...digests).map((digest) => `blobs/${digest}`),
    );
    const identity = fc.constantFrom<[string, Record<string, string>]>(
      ["anonymous", {}],
      ["anonymous (empty Basic)", { Authorization: "Basic Og==" }],
      ["wrong password", wrongPassword],
      ["user without rights", { Authorization: basicAuthorization(bob) }],
    );
    const method = fc.constantFrom<[string, Record<string, string>]>(
      ["GET", {}],
      ["HEAD", {}],
      ["GET", { Range: "bytes=0-99" }],
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("default", "host prefix", "ns"),
        fc.constantFrom(
          "docker.io",
          "registry-1.docker.io",
          "index.docker.io",
          "corp.example.com",
          "corp.example.com:5000",
        ),
        name,
        object,
        identity,
        method,
        async (form, host, repository, what, [who, credentials], [verb, range]) => {
          const path = requestPath(form, host, repository, what);
          const answer = await sendRequest(cache?.url ?? "", path, {
            method: verb,
            headers: { ...credentials, ...range },
          });
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const seen = `${who} ${verb} ${path} ${JSON.stringify(range)}: ${answer.status}`;
          expect(answer.status >= 400, seen).toBe(true);
          expect(answer.status, seen).not.toBe(500);
        },
      ),
      { numRuns: 300 },
    );
    // Not vacuous: the upstreams were asked and said no (401/403), not only the name checks (400).
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([400, 401, 403]));
  });

  test("the authorised user gets the same objects on every route form (the property is not vacuous)", async () => {
    const cases: [string, string, string, TestImage][] = [
      ["default", "", "app", hubImage],
      ["default", "", "library/app", hubImage],
      ["host prefix", "docker.io", "app", hubImage],
      ["ns", "index.docker.io", "team/app", hubImage],
      ["host prefix", "corp.example.com", "team/app", corpImage],
      ["ns", "corp.example.com:5000", "team/app", corpImage],
    ];
    for (const [form, host, repository, image] of cases) {
      const manifest = image.manifests[0];
      for (const object of [
        `manifests/${image.tag}`,
        `manifests/${image.digest}`,
        `blobs/${manifest?.configDigest}`,
        `blobs/${manifest?.layerDigests[0]}`,
      ]) {
        const path = requestPath(form, host, repository, object);
        const answer = await sendRequest(cache?.url ?? "", path, {
          headers: { Authorization: basicAuthorization(alice) },
        });
        expect(answer.status, path).toBe(200);
      }
    }
  });
});
