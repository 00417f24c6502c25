// What the cache holds and removing it by hand: the admin API (/admin/v1) of a cache in this
// process and `regmirror-cache ls / du / rm`, both against the cache's real filesystem store
// after skopeo pulls through it from a real docker-registry. The fault proxy (the test kit's
// fake) throttles one layer so that `rm` meets a download under way.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildTestImage,
  eventually,
  pushTestImage,
  skopeoPull,
  type TestImage,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { CliContext } from "../../src/cli/cli-context.js";
import { runCli } from "../../src/cli/run-cli.js";
import type {
  EvictionReport,
  InventoryListing,
  InventoryUsage,
} from "../../src/inspection/cache-inventory.js";
import {
  type FaultProxiedUpstream,
  startFaultProxiedUpstream,
} from "../daemon/fault-proxied-upstream.js";
import { basicAuthorization, sendRequest } from "../daemon/https-request.js";
import { type InProcessCache, startInProcessCache } from "../daemon/in-process-cache.js";

const admin = { username: "admin", password: "admin-secret-password-7" };
const plainHttp = { tlsVerify: false };

let remote: FaultProxiedUpstream;
let directory: string;
let cache: InProcessCache;
let configFile: string;
let passwordFile: string;
let app: TestImage;
let big: TestImage;

function configYaml(withAdmin: boolean, store = "store"): string {
  return remote.cacheConfig({
    upstream: { name: "corp", hosts: ["corp.example.com"] },
    store,
    more: withAdmin ? `  admin:\n    password: ${admin.password}\n` : "",
  });
}

/** Every byte of an image: its manifest, config and layers (one platform). */
function bytesOf(image: TestImage): number {
  return [...image.blobs.values()].reduce((total, blob) => total + blob.byteLength, 0);
}

function adminRequest(path: string, method = "GET", user = admin) {
  return sendRequest(cache.url, `/admin/v1/${path}`, {
    method,
    headers: { authorization: basicAuthorization(user) },
  });
}

async function adminJson<T>(path: string, method = "GET"): Promise<T> {
  const answer = await adminRequest(path, method);
  expect(answer.status, answer.body.toString()).toBe(200);
  return JSON.parse(answer.body.toString()) as T;
}

interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function cli(...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const context = {
    writeOut: (text: string) => {
      stdout += text;
    },
    writeError: (text: string) => {
      stderr += text;
    },
    readTextFile: async (path: string) => (await import("node:fs/promises")).readFile(path, "utf8"),
    logDestination: { write: () => {} },
  } as CliContext;
  const exitCode = await runCli(argv, context);
  return { exitCode, stdout, stderr };
}

beforeAll(async () => {
  remote = await startFaultProxiedUpstream("regmirror-inspection-");
  directory = remote.directory;
  app = await buildTestImage({ seed: "inspection-app", layers: [3000, 2000] });
  big = await buildTestImage({ seed: "inspection-big", layers: [300_000] });
  // The same image in two repositories: every blob of one is used by the other.
  await pushTestImage(app, remote.upstream, "team/app", { tag: "v1" });
  await pushTestImage(app, remote.upstream, "team/copy", { tag: "v1" });
  await pushTestImage(big, remote.upstream, "team/big", { tag: "v1" });
  configFile = join(directory, "config.yml");
  passwordFile = join(directory, "admin-password");
  writeFileSync(passwordFile, `${admin.password}\n`);
  cache = await startInProcessCache(configYaml(true));
  writeFileSync(configFile, configYaml(true));
  const host = new URL(cache.url).host;
  await skopeoPull(`${host}/team/app:v1`, plainHttp);
  await skopeoPull(`${host}/team/copy:v1`, plainHttp);
});

afterAll(async () => {
  await cache?.close();
  await remote?.stop();
});

describe("the admin API", () => {
  test("refuses without the admin credential, and is off when none is configured", async () => {
    const anonymous = await sendRequest(cache.url, "/admin/v1/repositories");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toMatch(/^Basic realm="regmirror admin"/);
    const wrong = await adminRequest("repositories", "GET", { ...admin, password: "not-it-1234" });
    expect(wrong.status).toBe(401);
    expect(wrong.body.toString()).not.toContain("team/app");

    const closed = await startInProcessCache(configYaml(false, "other-store"));
    try {
      const off = await sendRequest(closed.url, "/admin/v1/repositories", {
        headers: { authorization: basicAuthorization(admin) },
      });
      expect(off.status).toBe(403);
      expect(JSON.parse(off.body.toString()).errors[0].message).toContain(
        "configure an admin credential (regmirror.admin.password)",
      );
    } finally {
      await closed.close();
    }
    expect(cache.logText()).not.toContain(admin.password);
  });

  test("lists repositories and tags with the bytes of their content and a last access", async () => {
    const before = Date.now();
    const listing = await adminJson<InventoryListing>("repositories");
    expect(listing.repositories.map((repository) => repository.name)).toEqual([
      "corp.example.com/team/app",
      "corp.example.com/team/copy",
    ]);
    for (const repository of listing.repositories) {
      expect(repository.upstream).toBe("corp");
      expect(repository.bytes).toBe(bytesOf(app));
      expect(repository.images).toEqual([
        {
          tag: "v1",
          digest: app.digest,
          bytes: bytesOf(app),
          blobs: app.blobs.size,
          missingBlobs: 0,
          lastAccessAt: expect.any(Number),
        },
      ]);
      expect(repository.images[0]?.lastAccessAt).toBeLessThanOrEqual(before);
    }
    // Listing is no access: a second listing shows the same last access.
    const again = await adminJson<InventoryListing>("repositories");
    expect(again.repositories[0]?.lastAccessAt).toBe(listing.repositories[0]?.lastAccessAt);
  });

  test("usage counts shared content once per upstream and shows untagged content", async () => {
    const usage = await adminJson<InventoryUsage>("usage");
    expect(usage.store.bytes).toBe(bytesOf(app));
    expect(usage.byUpstream).toEqual([
      { upstream: "corp", bytes: bytesOf(app), blobs: app.blobs.size },
    ]);
    expect(usage.untagged).toEqual({ bytes: 0, blobs: 0 });
    expect(usage.repositories).toHaveLength(2);
  });

  test("bad targets get a 400 that names what was wrong; wrong methods and paths say so", async () => {
    const cases: [string, string][] = [
      ["", "nothing to remove"],
      ["sha256:abc", '"sha256:abc" is not a digest'],
      ["corp.example.com/team/app@sha256:nothex", "invalid image reference: digest"],
      ["corp.example.com/team/app:bad tag!", "invalid image reference: tag"],
      ["corp.example.com/Team/app", "invalid image reference: repository"],
    ];
    for (const [target, message] of cases) {
      const answer = await adminRequest(`content?target=${encodeURIComponent(target)}`, "DELETE");
      expect(answer.status, target).toBe(400);
      expect(JSON.parse(answer.body.toString()).errors[0]).toMatchObject({
        code: "INVALID_TARGET",
        message: expect.stringContaining(message),
      });
    }
    expect((await adminRequest("content?target=team/app", "GET")).status).toBe(405);
    expect((await adminRequest("nothing")).status).toBe(404);
    const listing = await adminJson<InventoryListing>("repositories");
    expect(listing.repositories).toHaveLength(2);
  });

  test("rm of an image keeps the content another cached image uses, and logs the removal", async () => {
    const report = await adminJson<EvictionReport>(
      `content?target=${encodeURIComponent("corp.example.com/team/copy:v1")}`,
      "DELETE",
    );
    expect(report.tags).toEqual(["corp.example.com/team/copy:v1"]);
    expect(report.evicted).toEqual([]);
    expect(report.kept.map((kept) => kept.reason)).toEqual(
      [...app.blobs.keys()].map(() => "shared"),
    );
    const listing = await adminJson<InventoryListing>("repositories");
    expect(listing.repositories.map((repository) => repository.name)).toEqual([
      "corp.example.com/team/app",
    ]);
    expect(cache.logText()).toMatch(
      /"target":"corp.example.com\/team\/copy:v1","requestedBy":"admin".*"content removed on request"/,
    );
  });

  test("rm while a client downloads the image keeps the download going to a verified end", async () => {
    const layer = big.manifests[0]?.layerDigests[0] ?? "";
    const layerBytes = big.blobs.get(layer) ?? Buffer.alloc(0);
    const manifest = await sendRequest(cache.url, "/v2/team/big/manifests/v1", {
      headers: { accept: big.mediaType },
    });
    expect(manifest.status).toBe(200);
    remote.proxy.setFault({ path: /\/blobs\//, throttleBytesPerSecond: 100_000 });
    try {
      const download = sendRequest(cache.url, `/v2/team/big/blobs/${layer}`);
      await eventually(() => {
        const under = cache.daemon.backend?.storage.downloads().find((one) => one.digest === layer);
        expect(under?.received ?? 0).toBeGreaterThan(0);
      });
      const report = await adminJson<EvictionReport>(
        `content?target=${encodeURIComponent("corp.example.com/team/big")}`,
        "DELETE",
      );
      expect(report.kept).toContainEqual({ digest: layer, reason: "downloading" });
      expect(report.tags).toEqual(["corp.example.com/team/big:v1"]);
      const answer = await download;
      expect(answer.status).toBe(200);
      expect(answer.body.byteLength).toBe(layerBytes.byteLength);
      expect(`sha256:${createHash("sha256").update(answer.body).digest("hex")}`).toBe(layer);
    } finally {
      remote.proxy.setFault(undefined);
    }
  });
});

describe("regmirror-cache ls / du / rm", () => {
  test("against the running cache (--url) they print what the admin API answers", async () => {
    const listing = await adminJson<InventoryListing>("repositories");
    const json = await cli("ls", "--url", cache.url, "--password-file", passwordFile, "--json");
    expect(json.stderr).toBe("");
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(listing);

    const text = await cli("ls", "--url", cache.url, "--password-file", passwordFile);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+SIZE\s+LAST ACCESS$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^corp.example.com/team/app\\s+v1\\s+${app.digest.slice(0, 19)}\\s+\\d+\\.\\d KiB\\s+20\\d\\d-`,
      ),
    );

    const wrong = join(directory, "wrong-password");
    writeFileSync(wrong, "not-the-password\n");
    const refused = await cli("du", "--url", cache.url, "--password-file", wrong);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("answered 401: the admin credential is required");

    const badTarget = await cli("rm", "--url", cache.url, "--password-file", passwordFile, "x:y:z");
    expect(badTarget.exitCode).toBe(1);
    expect(badTarget.stderr).toContain("answered 400");
  });

  test("bad command lines say what is wrong", async () => {
    expect((await cli("rm")).stderr).toContain("name at least one TARGET");
    const both = await cli("ls", "--url", cache.url, "--config", configFile);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain("--config and --url exclude each other");
    expect((await cli("ls", "--url", "ftp://x")).stderr).toContain("is not an http(s) URL");
    expect((await cli("du", "--url", cache.url)).stderr).toContain("--password-file FILE");
    expect((await cli("ls", "--help")).stdout).toContain("Listing does not count as an access");
  });

  test("against the store (--config) once the cache stopped: ls, du, then rm frees the bytes", async () => {
    const listing = await adminJson<InventoryListing>("repositories");
    await cache.close();
    const ls = await cli("ls", "--config", configFile, "--json");
    expect(ls.stderr).toBe("");
    expect(JSON.parse(ls.stdout)).toEqual(listing);

    const du = await cli("du", "--config", configFile, "--json");
    const usage = JSON.parse(du.stdout) as InventoryUsage;
    const layer = big.blobs.get(big.manifests[0]?.layerDigests[0] ?? "") ?? Buffer.alloc(0);
    // team/big's manifest went with its rm; its layer, downloading then, stayed and is untagged.
    expect(usage.store.bytes).toBe(bytesOf(app) + layer.byteLength);
    expect(usage.untagged.blobs).toBe(1);

    const rm = await cli("rm", "--config", configFile, `corp.example.com/team/app:v1`);
    expect(rm.exitCode).toBe(0);
    expect(rm.stdout).toContain(`corp.example.com/team/app:v1: removed ${app.blobs.size} blobs`);
    const after = await cli("du", "--config", configFile, "--json");
    expect((JSON.parse(after.stdout) as InventoryUsage).store.blobs).toBe(1);
    expect((await cli("ls", "--config", configFile)).stdout).toBe(
      "the cache holds no tagged image\n",
    );
  });
});
