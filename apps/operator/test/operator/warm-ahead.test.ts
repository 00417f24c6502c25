// Warm-ahead against a real kube-apiserver and a real cache: a Deployment created through the API
// server has its image's blobs in the cache before any client pulls, so the first pull through the
// cache asks the upstream (docker-registry, behind the test kit's counting proxy) for no blob.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CacheDaemon, createCacheDaemon, createRootLogger } from "@regmirror/cache";
import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import type { FaultProxy, UpstreamRegistry } from "@regmirror/test-kit";
import {
  buildTestImage,
  pushTestImage,
  skopeoPull,
  startFaultProxy,
  startUpstreamRegistry,
} from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegistryMirrorOperator } from "../../src/operator/index.js";
import {
  capturingLogger,
  eventually,
  get,
  mirrorApi,
  type OperatorCluster,
  startOperatorCluster,
} from "./operator-cluster.js";

let cluster: OperatorCluster;
let upstream: UpstreamRegistry;
let proxy: FaultProxy;
let cache: CacheDaemon | undefined;
let cacheUrl = "";
let operator: RegistryMirrorOperator;
let directory: string;
const logger = capturingLogger();

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "regmirror-warm-ahead-"));
  [cluster, upstream] = await Promise.all([startOperatorCluster(), startUpstreamRegistry()]);
  proxy = await startFaultProxy({ target: upstream.url });
  operator = cluster.startOperator({
    logger,
    // The cache runs in this process (no kubelet here), on plain http.
    warmAhead: { cacheAddress: () => ({ url: cacheUrl }) },
  });
  await cluster.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
  await cluster.client.create({
    ...mirrorApi,
    metadata: { name: "local" },
    spec: {
      upstreamUrl: upstream.url,
      nodeConfiguration: { modes: [] },
      warmAhead: { namespaces: ["shop"] },
    },
  });
  // The cache, with the admin credential the operator made for this mirror.
  const adminSecret = await eventually(() =>
    get(cluster.client, "Secret", "regmirror-local-admin"),
  );
  const password = Buffer.from(
    (adminSecret.data as Record<string, string>).password ?? "",
    "base64",
  ).toString();
  const config = loadCacheConfigFromYaml(
    `
http:
  addr: 127.0.0.1:0
regmirror:
  upstreams:
    - name: local
      endpoints: [${proxy.url}]
      hosts: ["${upstream.host}"]
  storage:
    filesystem:
      rootDirectory: ${join(directory, "store")}
  admin:
    password: "${password}"
`,
    "warm-ahead test config",
  );
  cache = await createCacheDaemon({
    config,
    logger: createRootLogger({ level: "warn", destination: { write: () => true } }),
  });
  cacheUrl = (await cache.listen()).url;
});

afterAll(async () => {
  await cache?.close();
  await cluster?.stop();
  await proxy?.stop();
  await upstream?.stop();
  rmSync(directory, { recursive: true, force: true });
});

describe("warm-ahead", () => {
  it("a Deployment created through the API server: its blobs are cached before any pull, and the first pull asks upstream for none", async () => {
    const image = await buildTestImage({ seed: "warm-ahead", layers: [64 * 1024, 256 * 1024] });
    const reference = await pushTestImage(image, upstream, "team/app", { tag: "v1" });
    proxy.resetCounts();

    const createdAt = Date.now();
    await cluster.client.create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "shop" },
      spec: {
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: reference }] },
        },
      },
    });
    const counters = operator.warmCounters();
    await eventually(() => expect(counters?.count("local", "warmed")).toBe(1), 60_000);
    const warmedMs = Date.now() - createdAt;
    // The figure the README reports (machine load varies: it is printed, never asserted).
    console.info(`warm-ahead: Deployment created → image cached in ${warmedMs} ms`);
    expect(proxy.requestCount(/\/blobs\/sha256:/)).toBeGreaterThan(0);

    proxy.resetCounts();
    const pulled = await skopeoPull(
      `${new URL(cacheUrl).host}/${upstream.host.replace(":", "_")}/team/app:v1`,
      { tlsVerify: false },
    );
    expect(pulled.digest).toBe(image.digest);
    expect(proxy.requestCount(/\/blobs\//)).toBe(0);
    // The cache counts those first pulls as warm hits: config and two layers.
    const metrics = await (await fetch(`${cacheUrl}/metrics`)).text();
    expect(metrics).toContain("regmirror_cache_warm_hits_total 3");

    // The same image in another workload is not warmed again (deduplicated).
    await cluster.client.create({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "migrate", namespace: "shop" },
      spec: {
        template: {
          spec: { restartPolicy: "Never", containers: [{ name: "m", image: reference }] },
        },
      },
    });
    await eventually(() =>
      expect(counters?.render()).toContain(
        'regmirror_operator_warm_deduplicated_total{mirror="local"} 1',
      ),
    );
    expect(counters?.count("local", "warmed")).toBe(1);
  });
});
