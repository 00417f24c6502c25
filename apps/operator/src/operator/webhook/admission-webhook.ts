// The image-rewriting admission webhook: its certificate, the rules it reads from the webhook
// configurations the operator wrote, the HTTP handler the API server calls, and its counters.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import { type Clock, describeError, type Logger, silentLogger, systemClock } from "@regmirror/core";
import {
  createInformer,
  createKubernetesClient,
  type Informer,
  type KubeObject,
  PatchType,
} from "@regmirror/k8s-reconciler";
import {
  defaultRenewBeforeMs,
  ensureWebhookCertificate,
  type WebhookCertificateLifetime,
  type WebhookTls,
} from "../kube/webhook-certificate.js";
import {
  managedByLabel,
  managedByValue,
  mirrorObjectNames,
  serviceDnsNames,
} from "../render/object-names.js";
import {
  isRegmirrorPod,
  type RewriteRulesRecord,
  rewriteRulesAnnotation,
  webhookPathPrefix,
} from "../render/render-webhook-configuration.js";
import {
  admissionResponse,
  isRecord,
  MalformedReviewError,
  parseAdmissionReview,
} from "./admission-review.js";
import { type CertificateRenewal, startCertificateRenewal } from "./certificate-renewal.js";
import { type RewriteRules, rewritePodImages } from "./image-rewrite.js";
import { createWebhookCounters, type WebhookCounters } from "./webhook-metrics.js";

/** A pod is at most a few hundred KiB; more is not an AdmissionReview we can use. */
const maximumBodyBytes = 3 * 1024 * 1024;

export interface AdmissionWebhookOptions {
  kubeConfig: KubeConfig;
  /** The operator's namespace: the certificate Secret is there. */
  namespace: string;
  /** The webhook Service's name; its DNS names go into the certificate. */
  serviceName: string;
  /** More names or addresses for the certificate (tests: 127.0.0.1). */
  extraHosts?: readonly string[];
  logger?: Logger;
  clock?: Clock;
  /** The serving certificate's lifetime and renewal margin; default a year, a month before. */
  certificate?: WebhookCertificateLifetime;
  /**
   * Called with a renewed serving certificate while the webhook runs (after `start`): load it
   * into the live TLS server (`setSecureContext`). Without it, nothing is renewed after start.
   */
  onRenewed?: (tls: WebhookTls) => void;
}

export interface AdmissionWebhook {
  /**
   * Makes sure of the certificate, starts watching the configurations and, with `onRenewed`,
   * renewing the certificate before it expires; the TLS to serve with.
   */
  start(): Promise<WebhookTls>;
  /** The handler the HTTPS server calls (POST /mutate/<mirror>). */
  handleHttpRequest(request: IncomingMessage, response: ServerResponse): void;
  counters(): WebhookCounters;
  close(): Promise<void>;
}

export function createAdmissionWebhook(options: AdmissionWebhookOptions): AdmissionWebhook {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const client = createKubernetesClient({ kubeConfig: options.kubeConfig });
  // Every replica serves the webhook, leader or not: the rules come from the configurations.
  const configurations: Informer = createInformer({
    client,
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    labelSelector: `${managedByLabel}=${managedByValue}`,
    logger,
  });
  const counters = createWebhookCounters();

  const rulesOf = (
    mirror: string,
  ): (RewriteRules & { excludeNamespaces: string[] }) | undefined => {
    const configuration = configurations.store.get(mirrorObjectNames(mirror).webhookConfiguration);
    return parseRules(configuration);
  };

  const review = (path: string, body: string | undefined): string => {
    let request: ReturnType<typeof parseAdmissionReview>;
    try {
      if (body === undefined) {
        throw new MalformedReviewError(`the body is larger than ${maximumBodyBytes} bytes`);
      }
      request = parseAdmissionReview(body);
    } catch (error) {
      if (!(error instanceof MalformedReviewError)) throw error;
      counters.failure("malformed-review");
      logger.warn(
        { path, problem: error.message },
        "webhook: malformed AdmissionReview admitted unchanged",
      );
      return admissionResponse(error.uid, [], [`not rewritten: ${error.message}`]);
    }
    const mirror = path.slice(webhookPathPrefix.length);
    if (request.kind !== "Pod") {
      counters.failure("not-a-pod");
      logger.warn({ mirror, kind: request.kind }, "webhook: not a Pod, admitted unchanged");
      return admissionResponse(request.uid, [], [`not rewritten: a ${request.kind} is not a Pod`]);
    }
    const rules = rulesOf(mirror);
    if (!rules) {
      counters.failure("unknown-mirror");
      logger.warn({ mirror }, "webhook: no rewrite rules for this mirror, pod admitted unchanged");
      return admissionResponse(request.uid, [], []);
    }
    const labels =
      isRecord(request.object) && isRecord(request.object.metadata)
        ? request.object.metadata.labels
        : undefined;
    if (
      rules.excludeNamespaces.includes(request.namespace) ||
      (isRecord(labels) && isRegmirrorPod(labels))
    ) {
      counters.request(mirror, "excluded");
      return admissionResponse(request.uid, [], []);
    }
    const lists =
      request.subResource === "ephemeralcontainers"
        ? (["ephemeralContainers"] as const)
        : undefined;
    const rewrite = rewritePodImages(request.object, rules, lists);
    for (const warning of rewrite.warnings) {
      counters.failure("unparseable-image");
      logger.warn(
        { mirror, namespace: request.namespace, problem: warning },
        "webhook: image left as it is",
      );
    }
    counters.request(mirror, rewrite.rewritten.length > 0 ? "rewritten" : "unchanged");
    counters.imagesRewritten(mirror, rewrite.rewritten.length);
    if (rewrite.rewritten.length > 0) {
      logger.info(
        { mirror, namespace: request.namespace, images: rewrite.rewritten },
        "webhook: pod images rewritten to the mirror",
      );
    }
    return admissionResponse(request.uid, rewrite.patch, rewrite.warnings);
  };

  /** Every webhook of the configurations this operator wrote trusts `caBundlePem` from now on. */
  const trustCa = async (caBundlePem: string): Promise<void> => {
    const caBundle = Buffer.from(caBundlePem, "utf8").toString("base64");
    for (const configuration of configurations.store.list()) {
      const webhooks: unknown[] = Array.isArray(configuration.webhooks)
        ? configuration.webhooks
        : [];
      // Each webhook by its index, guarded by its name: a list changed meanwhile fails the patch.
      const patch = webhooks.flatMap((entry, index) => [
        { op: "test", path: `/webhooks/${index}/name`, value: isRecord(entry) ? entry.name : "" },
        { op: "replace", path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundle },
      ]);
      if (patch.length === 0) continue;
      await client.patch(
        {
          apiVersion: "admissionregistration.k8s.io/v1",
          kind: "MutatingWebhookConfiguration",
          name: configuration.metadata?.name ?? "",
        },
        patch,
        PatchType.json,
      );
    }
  };

  let renewal: CertificateRenewal | undefined;

  return {
    async start() {
      const hosts = [
        ...serviceDnsNames(options.serviceName, options.namespace),
        ...(options.extraHosts ?? []),
      ];
      const ensure = (nowMs: number) =>
        ensureWebhookCertificate({
          client,
          namespace: options.namespace,
          hosts,
          nowMs,
          ...options.certificate,
        });
      const tls = await ensure(clock.now());
      configurations.start();
      await configurations.waitForSync();
      const { onRenewed } = options;
      if (onRenewed) {
        renewal = startCertificateRenewal({
          current: tls,
          renewBeforeMs: options.certificate?.renewBeforeMs ?? defaultRenewBeforeMs,
          ensure,
          trustCa,
          serve: onRenewed,
          clock,
          logger,
        });
      }
      return tls;
    },
    handleHttpRequest(request, response) {
      const path = (request.url ?? "").split("?")[0] ?? "";
      const answer = (status: number, body: string) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(body);
      };
      if (request.method !== "POST" || !path.startsWith(webhookPathPrefix)) {
        answer(
          404,
          JSON.stringify({ error: "not found: POST /mutate/<mirror> takes an AdmissionReview" }),
        );
        return;
      }
      readBody(request, maximumBodyBytes)
        .then((body) => answer(200, review(path, body)))
        .catch((error: unknown) => {
          // Admitted unchanged: the API server would admit anyway (failurePolicy Ignore).
          counters.failure("internal");
          logger.error(
            { path, error: describeError(error) },
            "webhook: request failed, pod admitted unchanged",
          );
          if (!response.headersSent)
            answer(200, admissionResponse("", [], ["not rewritten: the webhook failed"]));
        });
    },
    counters: () => counters,
    async close() {
      await renewal?.stop();
      await configurations.close();
      await client.close();
    },
  };
}

/** The rules a configuration carries; undefined when it has none or they cannot be read. */
function parseRules(
  configuration: KubeObject | undefined,
): (RewriteRules & { excludeNamespaces: string[] }) | undefined {
  const text = configuration?.metadata?.annotations?.[rewriteRulesAnnotation];
  if (!text) return undefined;
  try {
    const record = JSON.parse(text) as RewriteRulesRecord;
    return {
      mirrorHost: record.mirrorHost,
      registries: new Map(Object.entries(record.registries)),
      excludeNamespaces: record.excludeNamespaces,
    };
  } catch {
    return undefined;
  }
}

/** The body as text; undefined when it is larger than `limit` (read to the end all the same). */
function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) chunks.push(chunk);
    });
    request.on("end", () =>
      resolve(size > limit ? undefined : Buffer.concat(chunks).toString("utf8")),
    );
    request.on("error", reject);
  });
}
