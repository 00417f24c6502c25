// Client auth on the cache: pass-through (each client's own credentials are checked against a
// token-auth upstream for the repository) and htpasswd (users of the cache's own file, bearer
// tokens from /auth/token). skopeo is the client; raw requests show the exact answers.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildTestImage,
  htpasswdFile,
  makeTempDirectory,
  pushTestImage,
  skopeoPull,
  startUpstreamRegistry,
  stopAll,
  type TestImage,
  type UpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { alice, bob, carol, mirror } from "./client-auth-users.js";
import { basicAuthorization, sendRequest } from "./https-request.js";
import {
  type InProcessCache,
  startInProcessCache,
  startInProcessCacheOnFreePort,
} from "./in-process-cache.js";

let directory: string;
let upstream: UpstreamRegistry;
let image: TestImage;
let passThrough: InProcessCache | undefined;
let htpasswdCache: InProcessCache | undefined;
let basicCache: InProcessCache | undefined;

function host(cache: InProcessCache | undefined): string {
  return new URL(cache?.url ?? "").host;
}

function expectNoSecretsIn(logText: string) {
  for (const user of [alice, bob, carol, mirror]) {
    expect(logText).not.toContain(user.password);
    expect(logText).not.toContain(basicAuthorization(user).slice("Basic ".length));
  }
  expect(logText).not.toMatch(/"authorization"\s*:\s*"(Basic|Bearer)/i);
}

beforeAll(async () => {
  directory = makeTempDirectory("regmirror-cache-auth-");
  // Over TLS: the cache trusts the upstream through caBundle, for fills and for auth checks.
  upstream = await startUpstreamRegistry({
    auth: "token",
    tls: true,
    users: [
      { ...alice, repositories: { "private/app": ["pull", "push"], "public/*": ["pull", "push"] } },
      { ...bob, repositories: { "bob/*": ["pull", "push"] } },
      { ...mirror, repositories: { "*": ["pull"] } },
    ],
    anonymousRepositories: { "public/*": ["pull"] },
  });
  image = await buildTestImage({ seed: "daemon-auth", layers: [1024] });
  await pushTestImage(image, upstream, "private/app", alice);
  writeFileSync(join(directory, "upstream-ca.pem"), upstream.ca ?? "");

  // Every cache here fills from the upstream with the mirror account, over TLS.
  const upstreamsAndStore = (store: string) => `  upstreams:
    - name: private-upstream
      endpoints: [${upstream.url}]
      credentials: { username: ${mirror.username}, password: ${mirror.password} }
      caBundle: ${join(directory, "upstream-ca.pem")}
  storage:
    filesystem:
      rootDirectory: ${join(directory, store)}`;
  passThrough = await startInProcessCache(`
http:
  addr: 127.0.0.1:0
regmirror:
${upstreamsAndStore("pass-through")}
  auth:
    mode: pass-through
    decisionTtl: 1m
  metrics:
    address: 127.0.0.1:0
`);

  writeFileSync(join(directory, "htpasswd"), htpasswdFile([carol]));
  // One cache with http.host (its token realm; the port is chosen first so it can be written
  // down) and one without (a Basic challenge, as distribution's htpasswd auth gives).
  const htpasswdConfig = (http: string, store: string) => `
http:
${http}
regmirror:
${upstreamsAndStore(store)}
  auth:
    mode: htpasswd
    htpasswdFile: ${join(directory, "htpasswd")}
    realm: test-cache
`;
  htpasswdCache = await startInProcessCacheOnFreePort((port) =>
    htpasswdConfig(
      `  addr: 127.0.0.1:${port}\n  host: http://127.0.0.1:${port}\n  secret: http-secret-for-tokens`,
      "htpasswd-store",
    ),
  );
  basicCache = await startInProcessCache(htpasswdConfig("  addr: 127.0.0.1:0", "basic-store"));
});

afterAll(() => stopAll(passThrough, htpasswdCache, basicCache, upstream, directory));

describe("pass-through auth", () => {
  test("user A, who may pull the repository upstream, pulls it through the cache", async () => {
    const pulled = await skopeoPull(`${host(passThrough)}/private/app:${image.tag}`, {
      tlsVerify: false,
      ...alice,
    });
    expect(pulled.digest).toBe(image.digest);
  });

  test("an anonymous client is refused the cached content with 401 and a Basic challenge", async () => {
    const layer = image.manifests[0]?.layerDigests[0] ?? "";
    for (const path of [
      `/v2/private/app/manifests/${image.digest}`,
      `/v2/private/app/blobs/${layer}`,
    ]) {
      const answer = await sendRequest(passThrough?.url ?? "", path);
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toMatch(/^Basic realm="/);
      expect(JSON.parse(answer.body.toString("utf8")).errors[0].code).toBe("UNAUTHORIZED");
    }
    await expect(
      skopeoPull(`${host(passThrough)}/private/app:${image.tag}`, { tlsVerify: false }),
    ).rejects.toThrow();
  });

  test("user B, who has no rights on the repository upstream, is refused with 403", async () => {
    const layer = image.manifests[0]?.layerDigests[0] ?? "";
    for (const path of [
      `/v2/private/app/manifests/${image.digest}`,
      `/v2/private/app/blobs/${layer}`,
    ]) {
      const answer = await sendRequest(passThrough?.url ?? "", path, {
        headers: { Authorization: basicAuthorization(bob) },
      });
      expect(answer.status).toBe(403);
      const body = JSON.parse(answer.body.toString("utf8"));
      expect(body.errors[0].code).toBe("DENIED");
      expect(answer.body.toString("utf8")).not.toContain(bob.password);
    }
    await expect(
      skopeoPull(`${host(passThrough)}/private/app:${image.tag}`, { tlsVerify: false, ...bob }),
    ).rejects.toThrow();
  });

  test("an anonymous client pulls a repository the upstream lets anyone pull", async () => {
    const open = await buildTestImage({ seed: "daemon-auth-public", layers: [512] });
    await pushTestImage(open, upstream, "public/tool", alice);
    const pulled = await skopeoPull(`${host(passThrough)}/public/tool:${open.tag}`, {
      tlsVerify: false,
    });
    expect(pulled.digest).toBe(open.digest);
  });

  test("user B cannot read a cached private blob through a repository B may pull", async () => {
    const own = await buildTestImage({ seed: "daemon-auth-bob", layers: [512] });
    await pushTestImage(own, upstream, "bob/tools", bob);
    const ownPull = await skopeoPull(`${host(passThrough)}/bob/tools:${own.tag}`, {
      tlsVerify: false,
      ...bob,
    });
    expect(ownPull.digest).toBe(own.digest);
    const privateLayer = image.manifests[0]?.layerDigests[0] ?? "";
    const answer = await sendRequest(
      passThrough?.url ?? "",
      `/v2/bob/tools/blobs/${privateLayer}`,
      {
        headers: { Authorization: basicAuthorization(bob) },
      },
    );
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body.toString("utf8")).errors[0].code).toBe("BLOB_UNKNOWN");
  });

  test("a wrong password of user A is refused too", async () => {
    const answer = await sendRequest(
      passThrough?.url ?? "",
      `/v2/private/app/manifests/${image.digest}`,
      {
        headers: {
          Authorization: basicAuthorization({ username: alice.username, password: "wrong" }),
        },
      },
    );
    expect(answer.status).toBe(403);
  });

  test("the catalog is not listed in pass-through mode", async () => {
    const answer = await sendRequest(passThrough?.url ?? "", "/v2/_catalog", {
      headers: { Authorization: basicAuthorization(alice) },
    });
    expect(answer.status).toBe(403);
  });

  test("metrics on their own address need no login; the registry address does not serve them", async () => {
    const metricsUrl = passThrough?.daemon.address?.metricsUrl ?? "";
    const metrics = await sendRequest(metricsUrl, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body.toString("utf8")).toMatch(
      /regmirror_cache_misses_total\{kind="blob"\} [1-9]/,
    );
    expect((await sendRequest(metricsUrl, "/readyz")).status).toBe(200);
    expect((await sendRequest(passThrough?.url ?? "", "/metrics")).status).toBe(404);
  });

  test("no credential reached the logs", () => {
    const logText = passThrough?.logText() ?? "";
    expect(logText).toContain('"msg":"request"');
    expectNoSecretsIn(logText);
  });
});

describe("htpasswd client auth", () => {
  test("without credentials: 401 with a Bearer challenge naming http.host's token endpoint, whatever the Host header says", async () => {
    const hostHeaders: Record<string, string>[] = [
      {},
      { Host: "attacker.example" },
      { Host: "attacker.example:443" },
    ];
    for (const headers of hostHeaders) {
      for (const path of ["/v2/", `/v2/private/app/manifests/${image.tag}`]) {
        const answer = await sendRequest(htpasswdCache?.url ?? "", path, { headers });
        expect(answer.status).toBe(401);
        expect(answer.headers["www-authenticate"]).toBe(
          `Bearer realm="${htpasswdCache?.url}/auth/token",service="regmirror-cache"`,
        );
        expect(JSON.parse(answer.body.toString("utf8")).errors[0].code).toBe("UNAUTHORIZED");
      }
    }
  });

  test("without http.host: a Basic challenge with the configured realm, never the Host header", async () => {
    const hostHeaders: Record<string, string>[] = [{}, { Host: "attacker.example" }];
    for (const headers of hostHeaders) {
      const answer = await sendRequest(basicCache?.url ?? "", "/v2/", { headers });
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toBe('Basic realm="test-cache"');
      expect(answer.body.toString("utf8")).not.toContain("attacker");
    }
    const forged = await sendRequest(basicCache?.url ?? "", "/v2/", {
      headers: { Host: "attacker.example", Authorization: "Bearer forged.token" },
    });
    expect(forged.status).toBe(401);
    expect(forged.headers["www-authenticate"]).toBe('Basic realm="test-cache"');
    // Basic credentials answer the challenge: skopeo pulls with them.
    const pulled = await skopeoPull(`${host(basicCache)}/private/app:${image.tag}`, {
      tlsVerify: false,
      ...carol,
    });
    expect(pulled.digest).toBe(image.digest);
    await expect(
      skopeoPull(`${host(basicCache)}/private/app:${image.tag}`, {
        tlsVerify: false,
        username: carol.username,
        password: "not-her-password",
      }),
    ).rejects.toThrow();
  });

  test("the token endpoint without credentials says none were sent", async () => {
    const token = await sendRequest(
      htpasswdCache?.url ?? "",
      "/auth/token?service=regmirror-cache",
    );
    expect(token.status).toBe(401);
    expect(JSON.parse(token.body.toString("utf8")).errors[0].message).toBe(
      "no credentials were sent: log in with a user of the cache's htpasswd file",
    );
  });

  test("a wrong password gets no token and no content", async () => {
    const wrong = { username: carol.username, password: "not-her-password" };
    const token = await sendRequest(
      htpasswdCache?.url ?? "",
      "/auth/token?service=regmirror-cache",
      {
        headers: { Authorization: basicAuthorization(wrong) },
      },
    );
    expect(token.status).toBe(401);
    expect(JSON.parse(token.body.toString("utf8")).errors[0].message).toBe(
      "the user name or password is wrong",
    );
    const manifest = await sendRequest(
      htpasswdCache?.url ?? "",
      `/v2/private/app/manifests/${image.tag}`,
      {
        headers: { Authorization: basicAuthorization(wrong) },
      },
    );
    expect(manifest.status).toBe(401);
    const forged = await sendRequest(
      htpasswdCache?.url ?? "",
      `/v2/private/app/manifests/${image.tag}`,
      {
        headers: { Authorization: "Bearer eyJzdWIiOiJjYXJvbCIsImV4cCI6OTk5OTk5OTk5OTk5OX0.AAAA" },
      },
    );
    expect(forged.status).toBe(401);
  });

  test("a user of the file pulls with skopeo (token flow) and the health endpoints need no login", async () => {
    const pulled = await skopeoPull(`${host(htpasswdCache)}/private/app:${image.tag}`, {
      tlsVerify: false,
      ...carol,
    });
    expect(pulled.digest).toBe(image.digest);
    expect((await sendRequest(htpasswdCache?.url ?? "", "/healthz")).status).toBe(200);
  });

  test("no credential reached the logs", () => {
    const logText = htpasswdCache?.logText() ?? "";
    expect(logText).toContain('"user":"carol"');
    expectNoSecretsIn(logText);
    expect(logText).not.toContain("http-secret-for-tokens");
  });
});
