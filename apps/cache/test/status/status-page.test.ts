// The status page in a real headless Chromium (Debian's), after real skopeo pulls through a cache
// in this process from a real docker-registry: it shows the numbers /metrics shows, a download
// from a throttled upstream (the fault proxy, the test kit's fake) appears with its progress and
// waiting clients and goes away when done, without a reload; it fits a phone; with client auth on
// it refuses a browser without the admin credential. Screenshots: reports/screenshots/.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildTestImage,
  htpasswdFile,
  pushTestImage,
  skopeoPull,
  type TestImage,
} from "@regmirror/test-kit";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type FaultProxiedUpstream,
  startFaultProxiedUpstream,
} from "../daemon/fault-proxied-upstream.js";
import { basicAuthorization, sendRequest } from "../daemon/https-request.js";
import { type InProcessCache, startInProcessCache } from "../daemon/in-process-cache.js";
import { launchChromium, screenshotPath } from "./system-chromium.js";

const admin = { username: "admin", password: "admin-secret-password-9" };
const alice = { username: "alice", password: "alice-secret-password-1" };

let remote: FaultProxiedUpstream;
let cache: InProcessCache;
let browser: Browser;
let app: TestImage;
let big: TestImage;

async function metricSum(name: string, labels = ""): Promise<number> {
  const text = (await sendRequest(cache.url, "/metrics")).body.toString();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => line.includes(labels))
    .reduce((total, line) => total + Number(line.split(" ").at(-1)), 0);
}

async function shown(page: Page, field: string): Promise<number> {
  return Number(await page.locator(`[data-field="${field}"]`).first().getAttribute("data-value"));
}

beforeAll(async () => {
  remote = await startFaultProxiedUpstream("regmirror-status-page-");
  app = await buildTestImage({ seed: "status-app", layers: [4000, 6000] });
  big = await buildTestImage({ seed: "status-big", layers: [400_000] });
  await pushTestImage(app, remote.upstream, "team/app", { tag: "v1" });
  await pushTestImage(big, remote.upstream, "team/big", { tag: "v1" });
  cache = await startInProcessCache(
    remote.cacheConfig({ upstream: { name: "corp", hosts: ["corp.example.com"] } }),
  );
  browser = await launchChromium();
  const host = new URL(cache.url).host;
  // One cold pull (misses), then two warm ones (hits).
  for (let pull = 0; pull < 3; pull += 1) {
    await skopeoPull(`${host}/team/app:v1`, { tlsVerify: false });
  }
});

afterAll(async () => {
  await browser?.close();
  await cache?.close();
  await remote?.stop();
});

describe("the status page of a cache without client auth", () => {
  test("shows the numbers /metrics shows, the store against its cap and the most pulled image", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const response = await page.goto(`${cache.url}/status`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
    const metrics = {
      hits: await metricSum("regmirror_cache_hits_total", 'kind="blob"'),
      misses: await metricSum("regmirror_cache_misses_total", 'kind="blob"'),
      served: await metricSum("regmirror_cache_http_response_bytes_total", 'route="blob"'),
      fetched: await metricSum("regmirror_cache_upstream_bytes_total"),
      spared: await metricSum("regmirror_cache_bytes_served_from_cache_total"),
      storeBytes: await metricSum("regmirror_cache_store_bytes"),
    };
    // A cold pull and two warm pulls of an image with two layers and a config.
    expect(metrics.misses).toBe(3);
    expect(metrics.hits).toBeGreaterThanOrEqual(6);
    expect(await shown(page, "blob-hits")).toBe(metrics.hits);
    expect(await shown(page, "blob-misses")).toBe(metrics.misses);
    expect(await shown(page, "blob-hit-ratio")).toBeCloseTo(
      metrics.hits / (metrics.hits + metrics.misses),
      10,
    );
    expect(await shown(page, "bytes-served")).toBe(metrics.served);
    expect(await shown(page, "bytes-fetched")).toBe(metrics.fetched);
    expect(await shown(page, "bytes-spared")).toBe(metrics.spared);
    expect(await shown(page, "store-bytes")).toBe(metrics.storeBytes);
    await expect
      .poll(() => page.locator('[data-image="corp.example.com/team/app:v1"]').textContent())
      .toContain("3 pulls");
    expect(await page.locator('[data-upstream="corp"] li').first().textContent()).toContain(
      "up (circuit closed)",
    );
    // One worker: the page does not speak of workers.
    expect(await page.locator('[data-field="workers"]').count()).toBe(0);
    await page.screenshot({ path: screenshotPath("status-page"), fullPage: true });
    await page.close();
  });

  test("a download from a throttled upstream appears with progress and waiting clients, then goes, without a reload", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${cache.url}/status`);
    // A reload would drop this mark.
    await page.evaluate("window.notReloaded = true");
    const layer = big.manifests[0]?.layerDigests[0] ?? "";
    await sendRequest(cache.url, "/v2/team/big/manifests/v1", {
      headers: { accept: big.mediaType },
    });
    remote.proxy.setFault({ path: /\/blobs\//, throttleBytesPerSecond: 80_000 });
    try {
      const clients = [1, 2].map(() => sendRequest(cache.url, `/v2/team/big/blobs/${layer}`));
      const fill = page.locator(`li.fill[data-digest="${layer}"]`);
      await expect
        .poll(async () => ((await fill.count()) > 0 ? shown(page, "fill-clients") : 0), {
          timeout: 30_000,
        })
        .toBe(2);
      await expect
        .poll(async () => Number(await fill.locator("progress").getAttribute("value")), {
          timeout: 30_000,
        })
        .toBeGreaterThan(0);
      expect(await fill.locator("progress").getAttribute("max")).toBe(
        String(big.blobs.get(layer)?.byteLength),
      );
      expect(await fill.textContent()).toContain("corp.example.com/team/big");
      await page.screenshot({ path: screenshotPath("status-page-download"), fullPage: true });
      const answers = await Promise.all(clients);
      expect(answers.map((answer) => answer.body.byteLength)).toEqual([
        big.blobs.get(layer)?.byteLength,
        big.blobs.get(layer)?.byteLength,
      ]);
      await expect.poll(() => fill.count(), { timeout: 30_000 }).toBe(0);
      await expect.poll(() => page.locator('[data-field="no-fills"]').count()).toBe(1);
      expect(await page.evaluate("window.notReloaded")).toBe(true);
    } finally {
      remote.proxy.setFault(undefined);
      await page.close();
    }
  });

  test("fits a phone's screen", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await page.goto(`${cache.url}/status`);
    const width = await page.evaluate("document.documentElement.scrollWidth");
    expect(width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: screenshotPath("status-page-phone"), fullPage: true });
    await page.close();
  });
});

describe("the status page of a cache with client auth", () => {
  let privateCache: InProcessCache;
  let closedCache: InProcessCache;

  beforeAll(async () => {
    const htpasswd = join(remote.directory, "htpasswd");
    writeFileSync(htpasswd, htpasswdFile([alice]));
    const config = (store: string, withAdmin: boolean) =>
      remote.cacheConfig({
        upstream: { name: "corp", hosts: ["corp.example.com"] },
        store,
        more: `  auth:\n    mode: htpasswd\n    htpasswdFile: ${htpasswd}\n${
          withAdmin ? `  admin:\n    password: ${admin.password}\n` : ""
        }`,
      });
    privateCache = await startInProcessCache(config("private-store", true));
    closedCache = await startInProcessCache(config("closed-store", false));
  });

  afterAll(async () => {
    await privateCache?.close();
    await closedCache?.close();
  });

  test("refuses a browser without the admin credential, and a client's own credential too", async () => {
    const anonymous = await browser.newContext();
    const page = await anonymous.newPage();
    // Headless Chromium, with no credential to give to the Basic challenge, stops the navigation.
    await expect(page.goto(`${privateCache.url}/status`)).rejects.toThrow(
      /ERR_INVALID_AUTH_CREDENTIALS/,
    );
    for (const path of ["/status", "/status/data", "/status/fragment"]) {
      const refused = await anonymous.request.get(`${privateCache.url}${path}`);
      expect(refused.status()).toBe(401);
      expect(await refused.text()).toBe("the admin credential is required\n");
    }
    await anonymous.close();

    const asClient = await sendRequest(privateCache.url, "/status/data", {
      headers: { authorization: basicAuthorization(alice) },
    });
    expect(asClient.status).toBe(401);
  });

  test("shows the page, updating, to a browser with the admin credential", async () => {
    const signedIn = await browser.newContext({ httpCredentials: admin });
    const page = await signedIn.newPage();
    const response = await page.goto(`${privateCache.url}/status`);
    expect(response?.status()).toBe(200);
    const first = await shown(page, "generated-at");
    await expect
      .poll(() => shown(page, "generated-at"), { timeout: 15_000 })
      .toBeGreaterThan(first);
    expect(await page.locator('[data-upstream="corp"]').count()).toBe(1);
    await signedIn.close();
  });

  test("is refused with no admin credential configured, saying what to configure", async () => {
    const answer = await sendRequest(closedCache.url, "/status", {
      headers: { authorization: basicAuthorization(admin) },
    });
    expect(answer.status).toBe(403);
    expect(answer.body.toString()).toContain("configure regmirror.admin.password");
  });
});
