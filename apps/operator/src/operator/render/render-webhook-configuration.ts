// A mirror's MutatingWebhookConfiguration (webhook mode): where the API server calls the
// operator's webhook, which pods it sends, and the rewrite rules the webhook reads back.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import type { LabelSelector } from "@regmirror/schemas";
import type { MirrorContext } from "./mirror-context.js";
import { mirrorLabel, mirrorLabels } from "./object-names.js";

/**
 * Where the API server reaches the operator's webhook: a Service in a cluster, a URL outside
 * one (tests point it at https://127.0.0.1:PORT). Both are rendered by webhookClientConfig.
 */
export type WebhookEndpoint =
  | { url: string }
  | { service: { namespace: string; name: string; port: number } };

/** Each mirror's webhook is served at this path plus the mirror's name. */
export const webhookPathPrefix = "/mutate/";

/** The annotation on the configuration that carries the rewrite rules (read by every replica). */
export const rewriteRulesAnnotation = "regmirror.dev/rewrite-rules";

export interface RewriteRulesRecord {
  /** host[:port] nodes pull the mirror from. */
  mirrorHost: string;
  /** Normalised registry host → the cache's path segment for it. */
  registries: Record<string, string>;
  /** Namespaces never rewritten (kube-system, the operator's, the spec's). */
  excludeNamespaces: string[];
}

/**
 * The cache routes `/v2/<registry>/<repository>` by its first segment, where a port travels as
 * `_port` (repository names cannot hold `:`); the cache's registry router reads this form.
 */
export function registryPathSegment(host: string): string {
  return host.toLowerCase().replace(":", "_");
}

export function webhookClientConfig(
  endpoint: WebhookEndpoint,
  mirrorName: string,
  caBundlePem: string,
): Record<string, unknown> {
  const path = `${webhookPathPrefix}${mirrorName}`;
  const caBundle = Buffer.from(caBundlePem, "utf8").toString("base64");
  if ("url" in endpoint) return { url: `${endpoint.url.replace(/\/+$/, "")}${path}`, caBundle };
  return { service: { ...endpoint.service, path }, caBundle };
}

const partOfLabel = "app.kubernetes.io/part-of";

/** Never the cache's or node agents' pods (labelled with their mirror) nor the operator's. */
const ownPodsLeftOut: NonNullable<LabelSelector["matchExpressions"]> = [
  { key: mirrorLabel, operator: "DoesNotExist" },
  { key: partOfLabel, operator: "NotIn", values: ["regmirror"] },
];

/** The handler's own check of what the object selector leaves out. */
export function isRegmirrorPod(labels: Readonly<Record<string, unknown>>): boolean {
  return labels[mirrorLabel] !== undefined || labels[partOfLabel] === "regmirror";
}

/** The cache must never depend on itself to start: these namespaces are always left alone. */
export function excludedNamespaces(context: MirrorContext): string[] {
  return [
    ...new Set([
      "kube-system",
      context.namespace,
      ...context.spec.nodeConfiguration.webhook.excludeNamespaces,
    ]),
  ];
}

function withRequirements(
  selector: LabelSelector,
  requirements: NonNullable<LabelSelector["matchExpressions"]>,
): LabelSelector {
  return { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), ...requirements] };
}

export function renderWebhookConfiguration(
  context: MirrorContext,
  inputs: {
    endpoint: WebhookEndpoint;
    caBundlePem: string;
    /** host[:port] the nodes reach the mirror at (ImageSwap mode uses the same). */
    mirrorHost: string;
    registries: ReadonlyMap<string, string>;
  },
): KubeObject {
  const { spec, name, names } = context;
  const settings = spec.nodeConfiguration.webhook;
  const excluded = excludedNamespaces(context);
  const rules: RewriteRulesRecord = {
    mirrorHost: inputs.mirrorHost,
    registries: Object.fromEntries(inputs.registries),
    excludeNamespaces: excluded,
  };
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: {
      name: names.webhookConfiguration,
      labels: mirrorLabels(name, "webhook"),
      annotations: { [rewriteRulesAnnotation]: JSON.stringify(rules) },
    },
    webhooks: [
      {
        name: `${name}.images.regmirror.dev`,
        admissionReviewVersions: ["v1"],
        clientConfig: webhookClientConfig(inputs.endpoint, name, inputs.caBundlePem),
        rules: [
          // New pods only: rewriting a running pod's image would restart its container.
          {
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["CREATE"],
            resources: ["pods"],
            scope: "Namespaced",
          },
          // `kubectl debug` adds ephemeral containers to a running pod.
          {
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["UPDATE"],
            resources: ["pods/ephemeralcontainers"],
            scope: "Namespaced",
          },
        ],
        // A webhook that is down or slow must never stop pods from starting.
        failurePolicy: "Ignore",
        timeoutSeconds: settings.timeoutSeconds,
        sideEffects: "None",
        matchPolicy: "Equivalent",
        // Another webhook may add containers (sidecars) after us: look at them too.
        reinvocationPolicy: "IfNeeded",
        namespaceSelector: withRequirements(settings.namespaceSelector, [
          { key: "kubernetes.io/metadata.name", operator: "NotIn", values: excluded },
        ]),
        objectSelector: withRequirements(settings.objectSelector, ownPodsLeftOut),
      },
    ],
  };
}
