// The webhook configuration: one renderer for a Service (in a cluster) and a URL (tests, or an
// operator outside the cluster), failing open, and never sending the cache's own pods.

import { parseRegistryMirrorSpec } from "@regmirror/schemas";
import { expect, test } from "vitest";
import { createMirrorContext } from "./mirror-context.js";
import { renderWebhookConfiguration, webhookClientConfig } from "./render-webhook-configuration.js";

const caPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

test("the client config: a Service reference in a cluster, a URL outside one, both with the mirror's path and CA", () => {
  const caBundle = Buffer.from(caPem).toString("base64");
  expect(
    webhookClientConfig(
      { service: { namespace: "regmirror-system", name: "regmirror-operator-webhook", port: 443 } },
      "hub",
      caPem,
    ),
  ).toEqual({
    service: {
      namespace: "regmirror-system",
      name: "regmirror-operator-webhook",
      port: 443,
      path: "/mutate/hub",
    },
    caBundle,
  });
  expect(webhookClientConfig({ url: "https://127.0.0.1:9443/" }, "hub", caPem)).toEqual({
    url: "https://127.0.0.1:9443/mutate/hub",
    caBundle,
  });
});

test("fails open, quickly, without side effects; excludes kube-system, the operator's namespace and the cache's pods", () => {
  const spec = parseRegistryMirrorSpec({
    upstreamUrl: "registry-1.docker.io",
    nodeConfiguration: {
      modes: ["webhook"],
      webhook: {
        namespaceSelector: { matchLabels: { mirrored: "yes" } },
        excludeNamespaces: ["monitoring"],
        timeoutSeconds: 2,
      },
    },
  });
  const context = createMirrorContext(
    { apiVersion: "regmirror.dev/v1alpha1", kind: "RegistryMirror", metadata: { name: "hub" } },
    spec,
    { namespace: "regmirror-system", images: { operator: "o", cache: "c" } },
  );
  const configuration = renderWebhookConfiguration(context, {
    endpoint: { url: "https://127.0.0.1:9443" },
    caBundlePem: caPem,
    mirrorHost: "10.96.0.10",
    registries: new Map([["docker.io", "docker.io"]]),
  });
  expect(configuration.metadata?.name).toBe("regmirror-hub");
  const [webhook] = configuration.webhooks as Record<string, unknown>[];
  expect(webhook).toMatchObject({
    failurePolicy: "Ignore",
    timeoutSeconds: 2,
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    namespaceSelector: {
      matchLabels: { mirrored: "yes" },
      matchExpressions: [
        {
          key: "kubernetes.io/metadata.name",
          operator: "NotIn",
          values: ["kube-system", "regmirror-system", "monitoring"],
        },
      ],
    },
    objectSelector: {
      matchExpressions: [
        { key: "regmirror.dev/mirror", operator: "DoesNotExist" },
        { key: "app.kubernetes.io/part-of", operator: "NotIn", values: ["regmirror"] },
      ],
    },
  });
  expect(
    JSON.parse(configuration.metadata?.annotations?.["regmirror.dev/rewrite-rules"] ?? ""),
  ).toEqual({
    mirrorHost: "10.96.0.10",
    registries: { "docker.io": "docker.io" },
    excludeNamespaces: ["kube-system", "regmirror-system", "monitoring"],
  });
});
