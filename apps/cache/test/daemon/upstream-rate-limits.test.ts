// Upstream rate limits (docs/adr/0030-upstream-rate-limits.md): the fault proxy (the test kit's
// fake) adds Docker Hub's `ratelimit-limit` / `ratelimit-remaining` headers to a real
// docker-registry's manifest answers, and answers 429 on demand. The cache reads the budget into
// its metrics, keeps the last pulls by serving a moved tag from its store, and after a 429 holds
// every request to that upstream for one shared back-off.
import { buildTestImage, pushTestImage, type TestImage } from "@regmirror/test-kit";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type FaultProxiedUpstream, startFaultProxiedUpstream } from "./fault-proxied-upstream.js";
import { sendRequest } from "./https-request.js";
import { type InProcessCache, startInProcessCache } from "./in-process-cache.js";

let remote: FaultProxiedUpstream;
let cache: InProcessCache;
let first: TestImage;
let second: TestImage;

const dockerHubHeaders = (remaining: number) => ({
  "ratelimit-limit": "100;w=21600",
  "ratelimit-remaining": `${remaining};w=21600`,
});

function getManifest(repository: string, reference: string) {
  return sendRequest(cache.url, `/v2/${repository}/manifests/${reference}`, {
    headers: { accept: first.mediaType },
  });
}

async function metricValue(name: string): Promise<number | undefined> {
  const text = (await sendRequest(cache.url, "/metrics")).body.toString();
  const series = name.includes("upstream") ? `${name}{upstream="hub"} ` : `${name} `;
  const line = text.split("\n").find((candidate) => candidate.startsWith(series));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

function manifestRequests(): number {
  return remote.proxy.requestCount(/\/manifests\//);
}

beforeAll(async () => {
  remote = await startFaultProxiedUpstream("regmirror-rate-limits-");
  first = await buildTestImage({ seed: "rate-limits-first", layers: [700] });
  second = await buildTestImage({ seed: "rate-limits-second", layers: [900] });
  await pushTestImage(first, remote.upstream, "library/app", { tag: "stable" });
  await pushTestImage(second, remote.upstream, "library/other", { tag: "v1" });
  cache = await startInProcessCache(
    remote.cacheConfig({
      upstream: { name: "hub", hosts: ["docker.io"] },
      more: "  rateLimits:\n    headroom: 10%\n",
    }),
  );
});

afterAll(async () => {
  await cache?.close();
  await remote?.stop();
});

test("the budget Docker Hub announces on manifest answers shows in the metrics", async () => {
  remote.proxy.setFault({ path: /\/manifests\//, headers: dockerHubHeaders(76) });
  const answer = await getManifest("library/app", "stable");
  expect(answer.status).toBe(200);
  expect(answer.headers["docker-content-digest"]).toBe(first.digest);
  expect(await metricValue("regmirror_cache_upstream_ratelimit_limit")).toBe(100);
  expect(await metricValue("regmirror_cache_upstream_ratelimit_remaining")).toBe(76);
  expect(await metricValue("regmirror_cache_upstream_ratelimit_window_seconds")).toBe(21600);
  // 10 % of 100 pulls.
  expect(await metricValue("regmirror_cache_upstream_ratelimit_headroom")).toBe(10);
  // The store's cap beside its usage, for the "store near its cap" alert.
  expect(await metricValue("regmirror_cache_store_max_bytes")).toBe(2 ** 30);
});

test("below the headroom a moved tag is served from the cache, spending no pull on its new manifest", async () => {
  await pushTestImage(second, remote.upstream, "library/app", { tag: "stable" });
  remote.proxy.setFault({ path: /\/manifests\//, headers: dockerHubHeaders(5) });
  remote.proxy.resetCounts();
  const answer = await getManifest("library/app", "stable");
  expect(answer.status).toBe(200);
  expect(answer.headers["docker-content-digest"]).toBe(first.digest);
  // The tag was checked with a HEAD (Docker Hub does not count those); no GET was spent.
  expect(remote.proxy.requests().map((request) => request.method)).toEqual(["HEAD"]);
  expect(await metricValue("regmirror_cache_upstream_ratelimit_spared_total")).toBe(1);
  expect(cache.logText()).toContain("upstream rate limit nearly spent");
  // The status page warns too, and shows the pulls left.
  const page = (await sendRequest(cache.url, "/status/fragment")).body.toString();
  expect(page).toContain(
    "upstream hub has 5 of 100 pulls left: tags the cache holds are served instead of spending pulls",
  );
  expect(page).toMatch(
    /data-field="ratelimit-remaining" data-value="5">5<\/span> of 100 pulls left per 6 h/,
  );

  // With room again, the tag moves.
  remote.proxy.setFault({ path: /\/manifests\//, headers: dockerHubHeaders(60) });
  const moved = await getManifest("library/app", "stable");
  expect(moved.headers["docker-content-digest"]).toBe(second.digest);
  expect(cache.logText()).toContain("upstream rate limit has room again");
});

test("after a 429 every client waits out one back-off: tags the cache holds are served, nothing else reaches upstream", async () => {
  remote.proxy.setFault({
    path: /\/manifests\//,
    status: 429,
    headers: { ...dockerHubHeaders(0), "retry-after": "120" },
  });
  remote.proxy.resetCounts();
  const stale = await getManifest("library/app", "stable");
  expect(stale.status).toBe(200);
  expect(stale.headers["docker-content-digest"]).toBe(second.digest);
  expect(manifestRequests()).toBe(1);

  // Five more clients, and one asking for a manifest the cache lacks: none reaches upstream.
  const answers = await Promise.all([
    ...Array.from({ length: 5 }, () => getManifest("library/app", "stable")),
    getManifest("library/other", "v1"),
  ]);
  expect(answers.slice(0, 5).map((one) => one.status)).toEqual([200, 200, 200, 200, 200]);
  const uncached = answers[5];
  // The client learns why and for how long: 429 with the time left of the back-off.
  expect(uncached?.status).toBe(429);
  expect(Number(uncached?.headers["retry-after"])).toBeGreaterThan(100);
  expect(Number(uncached?.headers["retry-after"])).toBeLessThanOrEqual(120);
  expect(JSON.parse(uncached?.body.toString() ?? "{}").errors[0].code).toBe("TOOMANYREQUESTS");
  expect(manifestRequests()).toBe(1);
  expect(remote.proxy.requestCount()).toBe(1);

  expect(await metricValue("regmirror_cache_upstream_rate_limited_total")).toBe(1);
  expect(await metricValue("regmirror_cache_upstream_ratelimit_remaining")).toBe(0);
  expect(await metricValue("regmirror_cache_upstream_backoff_seconds")).toBeGreaterThan(100);
  const warnings = cache
    .logText()
    .split("\n")
    .filter((line) => line.includes("upstream rate limit reached (429)"));
  expect(warnings).toHaveLength(1);
  const status = JSON.parse((await sendRequest(cache.url, "/status/data")).body.toString());
  expect(status.warnings).toContainEqual(
    expect.stringMatching(/^upstream hub answered 429: no request goes to it for \d+ s$/),
  );
});
