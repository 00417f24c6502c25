// Webhook mode against a real kube-apiserver: the API server calls the operator's webhook over
// TLS on loopback, and the pods it admits come back with their images pointed at the mirror.
import type { Server } from "node:https";
import { capturingLogger } from "@regmirror/core/testing";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { eventually } from "@regmirror/test-kit";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdmissionWebhook } from "../../src/operator/index.js";
import type { Json } from "./operator-cluster.js";
import { mirrorApi, type OperatorCluster, operatorNamespace } from "./operator-cluster.js";
import { startWebhookFixture, type WebhookFixture } from "./webhook-fixture.js";

const logger = capturingLogger();
const digest = `sha256:${"b".repeat(64)}`;
const webhookApi = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "MutatingWebhookConfiguration",
} as const;
let fixture: WebhookFixture;
let cluster: OperatorCluster;
let webhook: AdmissionWebhook;
let server: Server;
let port: number;
let clusterIp: string;
let webhookCa: string;

beforeAll(async () => {
  fixture = await startWebhookFixture({ logger, namespaces: ["shop", "kube-system"] });
  ({ cluster, webhook, server, port, caPem: webhookCa } = fixture);
  const service = await eventually(() =>
    cluster.client.get({
      apiVersion: "v1",
      kind: "Service",
      namespace: operatorNamespace,
      name: "regmirror-hub",
    }),
  );
  clusterIp = (service.spec as { clusterIP: string }).clusterIP;
});

afterAll(async () => {
  await fixture?.stop();
});

let podCount = 0;
function createPod(
  namespace: string,
  spec: Record<string, unknown>,
  labels: Record<string, string> = {},
): Promise<KubeObject> {
  podCount += 1;
  return cluster.client.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `pod-${podCount}`, namespace, labels },
    spec,
  });
}

const nginxOnly = { containers: [{ name: "app", image: "nginx" }] };
const imagesOf = (pod: KubeObject): string[] =>
  ["initContainers", "containers"].flatMap((list) =>
    ((pod.spec as Json)[list] ?? []).map((container: { image: string }) => container.image),
  );

describe("the admission webhook on a real API server", () => {
  it("a Pod created through the API server comes back with its images on the mirror, digests kept, originals recorded", async () => {
    const configuration = await eventually(() =>
      cluster.client.get<Json>({ ...webhookApi, name: "regmirror-hub" }),
    );
    expect(configuration.webhooks[0]).toMatchObject({
      failurePolicy: "Ignore",
      sideEffects: "None",
      timeoutSeconds: 3,
      clientConfig: { url: `https://127.0.0.1:${port}/mutate/hub` },
    });
    expect(configuration.metadata.ownerReferences[0]).toMatchObject({
      kind: "RegistryMirror",
      name: "hub",
      controller: true,
    });

    // The API server picks new webhook configurations up within a moment: until then pods pass.
    await eventually(async () => {
      const probe = await createPod("shop", nginxOnly);
      expect(imagesOf(probe)).toEqual([`${clusterIp}/docker.io/library/nginx:latest`]);
    });

    const pod = await createPod("shop", {
      initContainers: [{ name: "setup", image: `busybox@${digest}` }],
      containers: [
        { name: "app", image: "docker.io/bitnami/redis:7.4" },
        { name: "exporter", image: "quay.io/prometheus/node-exporter:v1.9.0" },
      ],
    });
    expect(imagesOf(pod)).toEqual([
      `${clusterIp}/docker.io/library/busybox@${digest}`,
      `${clusterIp}/docker.io/bitnami/redis:7.4`,
      "quay.io/prometheus/node-exporter:v1.9.0",
    ]);
    expect(JSON.parse(pod.metadata?.annotations?.["regmirror.dev/original-images"] ?? "")).toEqual({
      "initContainers/setup": `busybox@${digest}`,
      "containers/app": "docker.io/bitnami/redis:7.4",
    });
    expect(webhook.counters().render()).toContain(
      'regmirror_operator_webhook_requests_total{mirror="hub",result="rewritten"}',
    );
  });

  it("pods in kube-system and the operator's namespace, and the cache's own pods, are left alone", async () => {
    await eventually(async () =>
      expect(imagesOf(await createPod("shop", nginxOnly))[0]).toContain(clusterIp),
    );
    for (const namespace of ["kube-system", operatorNamespace]) {
      expect(imagesOf(await createPod(namespace, nginxOnly))).toEqual(["nginx"]);
    }
    const cachePod = await createPod("shop", nginxOnly, { "regmirror.dev/mirror": "hub" });
    expect(imagesOf(cachePod)).toEqual(["nginx"]);
    expect(cachePod.metadata?.annotations?.["regmirror.dev/original-images"]).toBeUndefined();
  });

  it("bad input over HTTPS gets an allowed answer naming the problem, never an error", async () => {
    // The webhook's own CA, as the API server trusts it through the caBundle.
    const dispatcher = new Agent({ connect: { ca: webhookCa } });
    const post = async (path: string, body: string) => {
      const response = await request(`https://127.0.0.1:${port}${path}`, {
        method: "POST",
        body,
        dispatcher,
      });
      return { status: response.statusCode, body: (await response.body.json()) as Json };
    };
    const malformed = await post("/mutate/hub", "{not json");
    expect(malformed.status).toBe(200);
    expect(malformed.body.response).toMatchObject({
      allowed: true,
      warnings: ["regmirror: not rewritten: the body is not JSON"],
    });
    const review = (kind: string, object: unknown) =>
      JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: {
          uid: "u-1",
          kind: { group: "", version: "v1", kind },
          namespace: "shop",
          object,
        },
      });
    const notPod = await post("/mutate/hub", review("ConfigMap", { data: {} }));
    expect(notPod.body.response).toEqual({
      uid: "u-1",
      allowed: true,
      warnings: ["regmirror: not rewritten: a ConfigMap is not a Pod"],
    });
    // What the configuration's selectors leave out is left out by the handler too.
    const ownPod = await post(
      "/mutate/hub",
      review("Pod", {
        metadata: { labels: { "app.kubernetes.io/part-of": "regmirror" } },
        spec: { containers: [{ name: "operator", image: "nginx" }] },
      }),
    );
    expect(ownPod.body.response).toEqual({ uid: "u-1", allowed: true });
    const badImage = await post(
      "/mutate/hub",
      review("Pod", { spec: { containers: [{ name: "x", image: "Not A Reference" }] } }),
    );
    expect(badImage.body.response.allowed).toBe(true);
    expect(badImage.body.response.patch).toBeUndefined();
    expect(badImage.body.response.warnings[0]).toMatch(
      /^regmirror: containers\/x: image "Not A Reference" left as it is: invalid image reference/,
    );
    const metrics = webhook.counters().render();
    for (const reason of ["malformed-review", "not-a-pod", "unparseable-image"]) {
      expect(metrics).toContain(`regmirror_operator_webhook_failures_total{reason="${reason}"} 1`);
    }
    expect(logger.entries.map((entry) => entry.message)).toContain(
      "webhook: malformed AdmissionReview admitted unchanged",
    );
  });

  it("without webhook mode the configuration goes; with the webhook down, pods are still created (failurePolicy Ignore)", async () => {
    // Down first: the configuration still points at the closed port.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const admitted = await createPod("shop", nginxOnly);
    expect(imagesOf(admitted)).toEqual(["nginx"]);

    await cluster.client.patch(
      { ...mirrorApi, name: "hub" },
      { spec: { nodeConfiguration: { modes: [] } } },
      "application/merge-patch+json",
    );
    await eventually(async () => {
      const left = await cluster.client.list<KubeObject>(webhookApi.apiVersion, webhookApi.kind);
      expect(left.items.map((item) => item.metadata?.name)).not.toContain("regmirror-hub");
    });
  });
});
