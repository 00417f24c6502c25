import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import type { CliCommand, CliRuntime } from "../cli-runtime.js";
import { parseDuration } from "../node-agent/parse-duration.js";
import { createRegistryMirrorOperator } from "./registry-mirror-operator.js";

const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

const usage = `Usage: regmirror-operator operator --image IMAGE --cache-image IMAGE [options]

Reconciles RegistryMirror resources (regmirror.dev/v1alpha1): for each, a cache StatefulSet
(or Deployment with S3), its Services, TLS, config and optional Ingress in --namespace, and a
node agent DaemonSet that configures the nodes' container runtimes. One replica leads (a
coordination.k8s.io Lease); the others wait to take over.

Options:
  --image IMAGE               this operator's image (the node agent DaemonSet runs it)
  --cache-image IMAGE         the regmirror-cache image
  --image-pull-policy POLICY  Always, IfNotPresent or Never (default: Kubernetes' default)
  --namespace NS              where the mirrors' objects, the Lease and Events go
                              (default: the pod's own namespace)
  --kubeconfig FILE           a kubeconfig (default: the in-cluster service account)
  --identity NAME             leader election identity (default: host name + random suffix)
  --lease-name NAME           the Lease (default regmirror-operator)
  --lease-duration DURATION   default 15s
  --renew-deadline DURATION   default 10s
  --retry-period DURATION     default 2s
  --no-leader-election        reconcile at once (run one replica only)
  --imageswap-namespace NS    ImageSwap's namespace when a mirror names none (default imageswap-system)
  --node-cleanup-timeout DURATION
                              how long deletion waits for node agents (default 5m)
  --health-listen HOST:PORT   serve GET /healthz and GET /readyz (default 0.0.0.0:8081)
  -h, --help                  this text

Logs are JSON lines on stdout.`;

class UsageError extends Error {}

function duration(name: string, value: string): number {
  const milliseconds = parseDuration(value);
  if (milliseconds === undefined || milliseconds <= 0) {
    throw new UsageError(`--${name} "${value}" is not a duration like 15s or 5m`);
  }
  return milliseconds;
}

function parseListen(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(":");
  const portText = value.slice(colon + 1);
  if (colon <= 0 || !/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`--health-listen "${value}" is not HOST:PORT (e.g. 0.0.0.0:8081)`);
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
      throw new UsageError(
        `--namespace is required outside a pod (no ${serviceAccountNamespaceFile})`,
      );
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
    nodeCleanupTimeoutMs: duration("node-cleanup-timeout", values["node-cleanup-timeout"]),
    health: parseListen(values["health-listen"]),
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
  const kubeConfig = new KubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromCluster();
  const operator = createRegistryMirrorOperator({
    kubeConfig,
    namespace: options.namespace,
    image: options.image,
    cacheImage: options.cacheImage,
    ...(options.pullPolicy ? { imagePullPolicy: options.pullPolicy } : {}),
    identity: options.identity,
    leaderElection: options.leaderElection,
    imageswapNamespace: options.imageswapNamespace,
    nodeCleanupTimeoutMs: options.nodeCleanupTimeoutMs,
    logger,
  });
  // Liveness: the process answers. Readiness too: a standby replica is ready to take over.
  const server = await runtime.listen((request, response) => {
    const known = request.url === "/healthz" || request.url === "/readyz";
    response.writeHead(known ? 200 : 404, { "content-type": "application/json" });
    response.end(
      JSON.stringify(
        known ? { status: "ok", leader: operator.isLeader() } : { error: "not found" },
      ),
    );
  }, options.health);
  operator.start();
  logger.info(
    { namespace: options.namespace, identity: options.identity, health: server.address },
    "operator started",
  );
  const signal = await runtime.shutdownSignal;
  logger.info({ signal }, "operator stopping");
  await operator.close();
  await server.close();
  return 0;
}

export const operatorCommand: CliCommand = {
  usage,
  run: runOperator,
};
