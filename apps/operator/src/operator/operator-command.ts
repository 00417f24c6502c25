// `regmirror-operator operator`: flags, the connection check, the operator and /healthz.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { describeError, parseDuration } from "@regmirror/core";
import type { CliCommand, CliRuntime, ListeningServer } from "../cli-runtime.js";
import {
  checkApiServer,
  KubeConfigError,
  type KubeConfigSource,
  loadKubeConfig,
} from "./kube/load-kube-config.js";
import { renderOperatorMetrics } from "./operator-metrics.js";
import {
  createRegistryMirrorOperator,
  type RegistryMirrorOperator,
} from "./registry-mirror-operator.js";
import { type AdmissionWebhook, createAdmissionWebhook } from "./webhook/admission-webhook.js";

const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
/** How long the start-up check waits for the API server before the operator gives up. */
const apiServerCheckTimeoutMs = 10_000;

const usage = `Usage: regmirror-operator operator --image IMAGE --cache-image IMAGE [options]

Reconciles RegistryMirror resources (regmirror.dev/v1alpha1): for each, a cache StatefulSet
(or Deployment with S3), its Services, TLS, config and optional Ingress in --namespace, and a
node agent DaemonSet that configures the nodes' container runtimes. One replica leads (a
coordination.k8s.io Lease); the others wait to take over.

Options:
  --image IMAGE               this operator's image (the node agent DaemonSet runs it)
  --cache-image IMAGE         the regmirror-cache image
  --image-pull-policy POLICY  Always, IfNotPresent or Never (default: Kubernetes' default)
  --image-pull-secret NAME    a Secret in --namespace the cache and node agent pods pull with
                              (repeat for several)
  --namespace NS              where the mirrors' objects, the Lease and Events go
                              (default: the pod's own namespace, else the kubeconfig context's)
  --kubeconfig FILE           a kubeconfig (default: $KUBECONFIG, else ~/.kube/config, else the
                              pod's service account); the operator stops at once when no
                              cluster is configured or the API server does not answer
  --identity NAME             leader election identity (default: host name + random suffix)
  --lease-name NAME           the Lease (default regmirror-operator)
  --lease-duration DURATION   default 15s
  --renew-deadline DURATION   default 10s
  --retry-period DURATION     default 2s
  --no-leader-election        reconcile at once (run one replica only)
  --installation NAME         this installation's name in the mirrors it claims
                              (default NAMESPACE/LEASE-NAME; one owner per mirror)
  --imageswap-namespace NS    ImageSwap's namespace when a mirror names none (default imageswap-system)
  --imageswap-configmap NAME  ImageSwap's maps ConfigMap when a mirror names none (default imageswap-maps)
  --node-cleanup-timeout DURATION
                              how long deletion waits for node agents (default 5m)
  --health-listen HOST:PORT   serve GET /healthz, /readyz and /metrics (default 0.0.0.0:8081)
  --webhook-listen HOST:PORT  serve the image-rewriting admission webhook over HTTPS there, for
                              mirrors in webhook mode (e.g. 0.0.0.0:9443; default: not served)
  --webhook-service NAME      the Service in --namespace the API server reaches the webhook by
                              (default regmirror-operator-webhook, port 443)
  --webhook-url URL           reach the webhook at this https URL instead of a Service (an
                              operator outside the cluster)
  --webhook-host NAME         another name or address for the webhook's certificate (repeat)
  --warm-ahead                watch workloads in every namespace and have the caches of mirrors
                              with spec.warmAhead prefetch their new images (the leader only)
  --stuck-after DURATION      /healthz fails when the informers have not synced, or a reconcile
                              has run, this long (default 5m)
  -h, --help                  this text

DURATION is Go's syntax, as in the cache configuration: 500ms, 15s, 5m, 1m30s, 1h.
Logs are JSON lines on stdout.`;

class UsageError extends Error {}

function duration(name: string, value: string): number {
  const milliseconds = parseDuration(value);
  if (milliseconds === undefined || milliseconds <= 0) {
    throw new UsageError(`--${name} "${value}" is not a duration like 15s, 5m or 1m30s`);
  }
  return milliseconds;
}

function parseListen(flag: string, value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(":");
  const portText = value.slice(colon + 1);
  if (colon <= 0 || !/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`--${flag} "${value}" is not HOST:PORT (e.g. 0.0.0.0:8081)`);
  }
  return { host: value.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port: Number(portText) };
}

function parseOperatorArguments(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      image: { type: "string" },
      "cache-image": { type: "string" },
      "image-pull-policy": { type: "string" },
      "image-pull-secret": { type: "string", multiple: true },
      installation: { type: "string" },
      "imageswap-configmap": { type: "string", default: "imageswap-maps" },
      "stuck-after": { type: "string", default: "5m" },
      namespace: { type: "string" },
      kubeconfig: { type: "string" },
      identity: { type: "string" },
      "lease-name": { type: "string", default: "regmirror-operator" },
      "lease-duration": { type: "string", default: "15s" },
      "renew-deadline": { type: "string", default: "10s" },
      "retry-period": { type: "string", default: "2s" },
      "no-leader-election": { type: "boolean", default: false },
      "imageswap-namespace": { type: "string", default: "imageswap-system" },
      "node-cleanup-timeout": { type: "string", default: "5m" },
      "health-listen": { type: "string", default: "0.0.0.0:8081" },
      "webhook-listen": { type: "string" },
      "warm-ahead": { type: "boolean", default: false },
      "webhook-service": { type: "string", default: "regmirror-operator-webhook" },
      "webhook-url": { type: "string" },
      "webhook-host": { type: "string", multiple: true },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help" as const;
  if (!values.image) throw new UsageError("--image is required");
  if (!values["cache-image"]) throw new UsageError("--cache-image is required");
  const pullPolicy = values["image-pull-policy"];
  if (pullPolicy !== undefined && !["Always", "IfNotPresent", "Never"].includes(pullPolicy)) {
    throw new UsageError(
      `--image-pull-policy "${pullPolicy}" is not Always, IfNotPresent or Never`,
    );
  }
  let namespace = values.namespace;
  if (!namespace) {
    try {
      namespace = readFileSync(serviceAccountNamespaceFile, "utf8").trim();
    } catch {
      // Outside a pod: the kubeconfig context's namespace, once the kubeconfig is loaded.
    }
  }
  return {
    image: values.image,
    cacheImage: values["cache-image"],
    pullPolicy: pullPolicy as "Always" | "IfNotPresent" | "Never" | undefined,
    namespace,
    kubeconfig: values.kubeconfig,
    identity: values.identity ?? `${hostname()}-${randomBytes(3).toString("hex")}`,
    leaderElection: values["no-leader-election"]
      ? (false as const)
      : {
          leaseName: values["lease-name"],
          leaseDurationMs: duration("lease-duration", values["lease-duration"]),
          renewDeadlineMs: duration("renew-deadline", values["renew-deadline"]),
          retryPeriodMs: duration("retry-period", values["retry-period"]),
        },
    imageswapNamespace: values["imageswap-namespace"],
    imageswapConfigMapName: values["imageswap-configmap"],
    imagePullSecrets: values["image-pull-secret"] ?? [],
    installation: values.installation,
    stuckAfterMs: duration("stuck-after", values["stuck-after"]),
    nodeCleanupTimeoutMs: duration("node-cleanup-timeout", values["node-cleanup-timeout"]),
    health: parseListen("health-listen", values["health-listen"]),
    webhook: webhookOptions(values),
    warmAhead: values["warm-ahead"],
  };
}

function webhookOptions(values: {
  "webhook-listen"?: string;
  "webhook-service": string;
  "webhook-url"?: string;
  "webhook-host"?: string[];
}) {
  const url = values["webhook-url"];
  if (!values["webhook-listen"]) {
    if (url !== undefined) throw new UsageError("--webhook-url needs --webhook-listen");
    return undefined;
  }
  if (url !== undefined && !/^https:\/\/[^/]+/.test(url)) {
    throw new UsageError(`--webhook-url "${url}" is not an https:// URL`);
  }
  return {
    listen: parseListen("webhook-listen", values["webhook-listen"]),
    serviceName: values["webhook-service"],
    url,
    extraHosts: [
      ...(url !== undefined ? [new URL(url).hostname.replace(/^\[(.*)\]$/, "$1")] : []),
      ...(values["webhook-host"] ?? []),
    ],
  };
}

async function runOperator(argv: string[], runtime: CliRuntime): Promise<number> {
  let options: ReturnType<typeof parseOperatorArguments>;
  try {
    options = parseOperatorArguments(argv);
  } catch (error) {
    runtime.writeError(`operator: ${(error as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (options === "help") {
    runtime.writeOut(`${usage}\n`);
    return 0;
  }
  const logger = runtime.createLogger("operator");
  let cluster: KubeConfigSource;
  try {
    cluster = loadKubeConfig({
      kubeconfigFlag: options.kubeconfig,
      environment: runtime.environment,
      homeDirectory: runtime.homeDirectory,
    });
    const version = await checkApiServer(cluster, apiServerCheckTimeoutMs);
    logger.info(
      { server: cluster.kubeConfig.getCurrentCluster()?.server, from: cluster.source, version },
      "connected to the Kubernetes API server",
    );
  } catch (error) {
    if (!(error instanceof KubeConfigError)) throw error;
    runtime.writeError(`operator: ${error.message}\n`);
    return 1;
  }
  const namespace =
    options.namespace ??
    cluster.kubeConfig.getContextObject(cluster.kubeConfig.getCurrentContext())?.namespace;
  if (!namespace) {
    runtime.writeError(
      `operator: --namespace is required (not in a pod, and the kubeconfig context names no namespace)\n\n${usage}\n`,
    );
    return 2;
  }
  // The webhook serves on every replica, leader or not; its certificate exists before any
  // mirror's webhook configuration names its CA.
  const webhook = options.webhook
    ? createAdmissionWebhook({
        kubeConfig: cluster.kubeConfig,
        namespace,
        serviceName: options.webhook.serviceName,
        extraHosts: options.webhook.extraHosts,
        logger: logger.child({ component: "webhook" }),
        // Renewed before it expires, into the live server (set below, before the first renewal).
        onRenewed: (tls) => webhookServer?.reloadTls({ key: tls.keyPem, cert: tls.certificatePem }),
      })
    : undefined;
  let webhookServer: ListeningServer | undefined;
  if (webhook && options.webhook) {
    try {
      const tls = await webhook.start();
      webhookServer = await runtime.listen(webhook.handleHttpRequest, options.webhook.listen, {
        key: tls.keyPem,
        cert: tls.certificatePem,
      });
    } catch (error) {
      await webhook.close();
      runtime.writeError(
        `operator: the admission webhook could not start (--webhook-listen): ${describeError(error)}\n`,
      );
      return 1;
    }
  }
  const operator = createRegistryMirrorOperator({
    kubeConfig: cluster.kubeConfig,
    namespace,
    image: options.image,
    cacheImage: options.cacheImage,
    ...(options.pullPolicy ? { imagePullPolicy: options.pullPolicy } : {}),
    imagePullSecrets: options.imagePullSecrets,
    identity: options.identity,
    ...(options.installation ? { installation: options.installation } : {}),
    leaderElection: options.leaderElection,
    imageswapNamespace: options.imageswapNamespace,
    imageswapConfigMapName: options.imageswapConfigMapName,
    nodeCleanupTimeoutMs: options.nodeCleanupTimeoutMs,
    stuckAfterMs: options.stuckAfterMs,
    warmAhead: options.warmAhead ? {} : false,
    ...(options.webhook
      ? {
          webhookEndpoint: options.webhook.url
            ? { url: options.webhook.url }
            : { service: { namespace, name: options.webhook.serviceName, port: 443 } },
        }
      : {}),
    logger,
  });
  const server = await runtime.listen(
    (request, response) => answerHealth(request.url ?? "", operator, webhook, response),
    options.health,
  );
  operator.start();
  logger.info(
    {
      namespace,
      installation: operator.status().installation,
      identity: options.identity,
      health: server.address,
      webhook: webhookServer?.address,
    },
    "operator started",
  );
  const signal = await runtime.shutdownSignal;
  logger.info({ signal }, "operator stopping");
  await operator.close();
  await webhookServer?.close();
  await webhook?.close();
  await server.close();
  return 0;
}

/**
 * /healthz: 503 with the problems when the controller is stuck (liveness restarts it); /readyz:
 * 200 while the process runs (a standby is ready to take over); /metrics: Prometheus text.
 */
function answerHealth(
  url: string,
  operator: RegistryMirrorOperator,
  webhook: AdmissionWebhook | undefined,
  response: ServerResponse,
): void {
  const path = url.split("?")[0];
  if (path === "/metrics") {
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    response.end(
      renderOperatorMetrics(operator.status()) +
        (webhook?.counters().render() ?? "") +
        (operator.warmCounters()?.render() ?? ""),
    );
    return;
  }
  if (path !== "/healthz" && path !== "/readyz") {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: "not found" }));
    return;
  }
  const status = operator.status();
  const stuck = path === "/healthz" && status.problems.length > 0;
  response.writeHead(stuck ? 503 : 200, { "content-type": "application/json" });
  response.end(
    JSON.stringify(
      stuck
        ? { status: "stuck", leader: status.leader, problems: status.problems }
        : { status: "ok", leader: status.leader },
    ),
  );
}

export const operatorCommand: CliCommand = {
  usage,
  run: runOperator,
};
