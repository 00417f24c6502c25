import type { KubeConfig } from "@kubernetes/client-node";
import {
  type Controller,
  createController,
  createEventRecorder,
  createInformer,
  createKubernetesClient,
  createLeaderElector,
  type KubeObject,
  type Logger,
  noopLogger,
  ownerKeysOf,
} from "@regmirror/k8s-reconciler";
import { registryMirrorApi } from "@regmirror/schemas";
import type { OperatorImages } from "./mirror-context.js";
import { OperatorError } from "./operator-error.js";
import { createOwnedInformers, ownedKinds } from "./owned-objects.js";
import { createMirrorReconciler } from "./reconcile-mirror.js";

export interface LeaderElectionOptions {
  /** The Lease's name, in `namespace`. Default "regmirror-operator". */
  leaseName?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Give the lease up on close so a standby takes over at once. Default true. */
  releaseOnClose?: boolean;
}

export interface RegistryMirrorOperatorOptions {
  kubeConfig: KubeConfig;
  /** Where the operator runs and puts every mirror's objects (and its Lease and Events). */
  namespace: string;
  /** The operator's image: the node agent DaemonSet runs it. */
  image: string;
  /** The regmirror-cache image. */
  cacheImage: string;
  imagePullPolicy?: OperatorImages["pullPolicy"];
  /** Unique per process: the pod name (plus a random suffix). */
  identity: string;
  /** Leader election; `false` reconciles at once (one replica only, and in tests). */
  leaderElection?: LeaderElectionOptions | false;
  /** Where ImageSwap's maps ConfigMap lives when a mirror does not say. Default imageswap-system. */
  imageswapNamespace?: string;
  /** How long deletion waits for the node agents to remove their files. Default 5 min. */
  nodeCleanupTimeoutMs?: number;
  /** Reconcile every mirror at least this often. Default 10 min. */
  resyncIntervalMs?: number;
  /** Mirrors reconciled at once. Default 2. */
  concurrency?: number;
  /** Per-watch timeout of the informers (seconds); shorter means faster recovery checks. */
  watchTimeoutSeconds?: number;
  logger?: Logger;
  now?: () => number;
}

export interface RegistryMirrorOperator {
  /** Starts competing for leadership (or reconciling, without leader election). */
  start(): void;
  isLeader(): boolean;
  /** Resolves once this process leads and its informers have synced. */
  whenReconciling(): Promise<void>;
  /** Stops reconciling, releases the lease, closes watches and connections. */
  close(): Promise<void>;
}

export function createRegistryMirrorOperator(
  options: RegistryMirrorOperatorOptions,
): RegistryMirrorOperator {
  const logger = options.logger ?? noopLogger;
  for (const [option, value] of [
    ["namespace", options.namespace],
    ["image", options.image],
    ["cacheImage", options.cacheImage],
    ["identity", options.identity],
  ] as const) {
    if (!value) {
      throw new OperatorError(
        "REGMIRROR_OPERATOR_BAD_OPTION",
        "BadOption",
        `createRegistryMirrorOperator: ${option} is required`,
      );
    }
  }
  const now = options.now ?? Date.now;
  const client = createKubernetesClient({ kubeConfig: options.kubeConfig });
  const watchTimeoutSeconds = options.watchTimeoutSeconds;
  const mirrors = createInformer({
    client,
    apiVersion: registryMirrorApi.apiVersion,
    kind: registryMirrorApi.kind,
    logger,
    watchTimeoutSeconds,
  });
  const informers = createOwnedInformers({
    client,
    namespace: options.namespace,
    logger,
    watchTimeoutSeconds,
  });
  const events = createEventRecorder({
    client,
    reportingController: `${registryMirrorApi.group}/regmirror-operator`,
    reportingInstance: options.identity,
    // The API server accepts Events about cluster-scoped objects only in "default".
    clusterScopedNamespace: "default",
    logger,
  });
  const reconcile = createMirrorReconciler({
    client,
    mirrors,
    informers,
    namespace: options.namespace,
    images: {
      operator: options.image,
      cache: options.cacheImage,
      ...(options.imagePullPolicy ? { pullPolicy: options.imagePullPolicy } : {}),
    },
    imageswapNamespace: options.imageswapNamespace ?? "imageswap-system",
    nodeCleanupTimeoutMs: options.nodeCleanupTimeoutMs ?? 5 * 60_000,
    resyncIntervalMs: options.resyncIntervalMs ?? 10 * 60_000,
    events,
    logger,
    now,
  });
  const ownerKeys = ownerKeysOf({
    apiVersion: registryMirrorApi.apiVersion,
    kind: registryMirrorApi.kind,
    namespaced: false,
  });
  // A user Secret a mirror refers to (TLS, upstream or S3 credentials, htpasswd) reconciles it.
  const referringMirrors = (secret: KubeObject): string[] => {
    const secretName = secret.metadata?.name;
    const keys = new Set(ownerKeys(secret));
    for (const mirror of mirrors.store.list()) {
      const spec = (mirror.spec ?? {}) as {
        credentialsSecret?: string;
        tls?: { secretName?: string };
        storage?: { s3?: { credentials?: { secretName?: string } } };
        clientAuth?: { htpasswdSecret?: string };
      };
      const referenced = [
        spec.credentialsSecret,
        spec.tls?.secretName,
        spec.storage?.s3?.credentials?.secretName,
        spec.clientAuth?.htpasswdSecret,
      ];
      if (secretName && referenced.includes(secretName) && mirror.metadata?.name) {
        keys.add(mirror.metadata.name);
      }
    }
    return [...keys];
  };

  let controller: Controller | undefined;
  let reconciling: { promise: Promise<void>; resolve: () => void } = deferred();
  const startReconciling = async (): Promise<void> => {
    const current = createController({
      name: "registry-mirror",
      informers: [
        { informer: mirrors },
        ...ownedKinds.map(({ kind }) => ({
          informer: informers[kind],
          keysOf: kind === "Secret" ? referringMirrors : ownerKeys,
        })),
      ],
      reconcile,
      concurrency: options.concurrency ?? 2,
      logger,
    });
    controller = current;
    await current.start();
    if (controller === current) reconciling.resolve();
  };
  const stopReconciling = async (): Promise<void> => {
    const current = controller;
    controller = undefined;
    reconciling = deferred();
    await current?.close({ drain: false });
  };

  const elector =
    options.leaderElection === false
      ? undefined
      : createLeaderElector({
          client,
          namespace: options.namespace,
          name: options.leaderElection?.leaseName ?? "regmirror-operator",
          identity: options.identity,
          leaseDurationMs: options.leaderElection?.leaseDurationMs,
          renewDeadlineMs: options.leaderElection?.renewDeadlineMs,
          retryPeriodMs: options.leaderElection?.retryPeriodMs,
          releaseOnClose: options.leaderElection?.releaseOnClose,
          logger,
          onStartedLeading: () => {
            logger.info({ identity: options.identity }, "leading: reconciling RegistryMirrors");
            startReconciling().catch((error: Error) =>
              logger.error({ error: error.message }, "starting the controller failed"),
            );
          },
          onStoppedLeading: async () => {
            logger.info({ identity: options.identity }, "no longer leading: stopped reconciling");
            await stopReconciling();
          },
        });

  let closed = false;
  return {
    start() {
      if (elector) elector.start();
      else
        startReconciling().catch((error: Error) =>
          logger.error({ error: error.message }, "starting the controller failed"),
        );
    },
    isLeader: () => (elector ? elector.isLeader() : controller !== undefined),
    whenReconciling: () => reconciling.promise,
    async close() {
      if (closed) return;
      closed = true;
      if (elector) await elector.close();
      await stopReconciling();
      await Promise.all([
        mirrors.close(),
        ...Object.values(informers).map((informer) => informer.close()),
      ]);
      await client.close();
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
