// The operator as one object: informers, the leader election, the controller and its health.
import type { KubeConfig } from "@kubernetes/client-node";
import { type Clock, type Logger, silentLogger, systemClock } from "@regmirror/core";
import {
  type Controller,
  createController,
  createEventRecorder,
  createInformer,
  createKubernetesClient,
  createLeaderElector,
  type KubeObject,
  ownerKeysOf,
  type ReconcileRequest,
  type ReconcileResult,
} from "@regmirror/k8s-reconciler";
import {
  parseRegistryMirrorSpec,
  type RegistryMirrorSpec,
  registryMirrorApi,
  registryMirrorDefaults,
} from "@regmirror/schemas";
import { createControllerHealth } from "./controller-health.js";
import { createOwnedInformers, ownedKinds } from "./kube/owned-objects.js";
import { userSecretNames } from "./kube/referenced-secrets.js";
import { OperatorError } from "./operator-error.js";
import type { OperatorStatus } from "./operator-metrics.js";
import { installationName, ownerOf } from "./reconcile/installation-claim.js";
import { createMirrorReconciler } from "./reconcile/reconcile-mirror.js";
import type { OperatorImages } from "./render/mirror-context.js";
import { mirrorLabel, webhookCertificateSecretName } from "./render/object-names.js";
import type { WebhookEndpoint } from "./render/render-webhook-configuration.js";
import type { CacheAddress } from "./warm/cache-warm-client.js";
import { createWarmAhead, type WarmAhead, type WarmedMirror } from "./warm/warm-ahead.js";
import { createWarmCounters, type WarmCounters } from "./warm/warm-metrics.js";

const defaultLeaseName = "regmirror-operator";

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
  /** imagePullSecrets (in `namespace`) of the cache and node agent pods. */
  imagePullSecrets?: readonly string[];
  /** Unique per process: the pod name (plus a random suffix). */
  identity: string;
  /** Leader election; `false` reconciles at once (one replica only, and in tests). */
  leaderElection?: LeaderElectionOptions | false;
  /** Where ImageSwap's maps ConfigMap lives when a mirror does not say. Default imageswap-system. */
  imageswapNamespace?: string;
  /** ImageSwap's maps ConfigMap when a mirror does not say. Default imageswap-maps. */
  imageswapConfigMapName?: string;
  /**
   * Where the API server reaches this installation's admission webhook (served by
   * createAdmissionWebhook); without it, mirrors in webhook mode report WebhookNotServed.
   */
  webhookEndpoint?: WebhookEndpoint;
  /**
   * Warm-ahead for mirrors with spec.warmAhead (the leader watches workloads in the namespaces
   * they list, in every namespace when one lists none);
   * `cacheAddress` replaces the cache Service's address (tests, an operator outside the cluster).
   */
  warmAhead?: { cacheAddress?: (mirror: WarmedMirror) => CacheAddress } | false;
  /**
   * This installation's name in the claims it writes (ADR 0021). Default
   * "<namespace>/<lease name>": installations differ by namespace, or by Lease in one namespace.
   */
  installation?: string;
  /** /healthz fails when a reconcile runs, or the informers fail to sync, this long. Default 5 min. */
  stuckAfterMs?: number;
  /** How long deletion waits for the node agents to remove their files. Default 5 min. */
  nodeCleanupTimeoutMs?: number;
  /** Reconcile every mirror at least this often. Default 10 min. */
  resyncIntervalMs?: number;
  /** Mirrors reconciled at once. Default 2. */
  concurrency?: number;
  /** Per-watch timeout of the informers (seconds); shorter means faster recovery checks. */
  watchTimeoutSeconds?: number;
  logger?: Logger;
  clock?: Clock;
}

export interface RegistryMirrorOperator {
  /** Starts competing for leadership (or reconciling, without leader election). */
  start(): void;
  isLeader(): boolean;
  /** Leadership, health, mirrors by owner and counters: what /healthz and /metrics report. */
  status(): OperatorStatus;
  /** Warm-ahead's counters (what /metrics reports); undefined without warm-ahead. */
  warmCounters(): WarmCounters | undefined;
  /** Resolves once this process leads and its informers have synced. */
  whenReconciling(): Promise<void>;
  /** Stops reconciling, releases the lease, closes watches and connections. */
  close(): Promise<void>;
}

export function createRegistryMirrorOperator(
  options: RegistryMirrorOperatorOptions,
): RegistryMirrorOperator {
  const logger = options.logger ?? silentLogger;
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
  const clock = options.clock ?? systemClock;
  const leaseName = options.leaderElection
    ? (options.leaderElection.leaseName ?? defaultLeaseName)
    : defaultLeaseName;
  const installation = options.installation ?? installationName(options.namespace, leaseName);
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
  // NodePort mirrors give clients a node's address, and may put every node in the certificate.
  const nodes = createInformer({
    client,
    apiVersion: "v1",
    kind: "Node",
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
  const health = createControllerHealth({
    stuckAfterMs: options.stuckAfterMs ?? 5 * 60_000,
    clock,
  });
  const reconciles = { success: 0, error: 0 };
  const reconcileMirror = createMirrorReconciler({
    client,
    mirrors,
    informers,
    nodes: () => nodes.store.list(),
    namespace: options.namespace,
    installation,
    images: {
      operator: options.image,
      cache: options.cacheImage,
      ...(options.imagePullPolicy ? { pullPolicy: options.imagePullPolicy } : {}),
      ...(options.imagePullSecrets ? { pullSecrets: options.imagePullSecrets } : {}),
    },
    webhookEndpoint: options.webhookEndpoint,
    imageswapNamespace: options.imageswapNamespace ?? "imageswap-system",
    imageswapConfigMapName:
      options.imageswapConfigMapName ?? registryMirrorDefaults.imageswapConfigMapName,
    nodeCleanupTimeoutMs: options.nodeCleanupTimeoutMs ?? 5 * 60_000,
    resyncIntervalMs: options.resyncIntervalMs ?? 10 * 60_000,
    appliedVersions: new Map(),
    events,
    logger,
    clock,
  });
  // Counted and timed for /metrics and /healthz.
  const reconcile = async (request: ReconcileRequest): Promise<ReconcileResult> => {
    const finished = health.reconcileStarted(request.key);
    try {
      const result = await reconcileMirror(request);
      reconciles.success += 1;
      return result;
    } catch (error) {
      reconciles.error += 1;
      throw error;
    } finally {
      finished();
    }
  };
  // A Node's addresses matter to the NodePort mirrors.
  const nodePortMirrors = (): string[] =>
    mirrors.store
      .list()
      .filter((mirror) => specOf(mirror)?.exposure.type === "NodePort")
      .map((mirror) => mirror.metadata?.name ?? "")
      .filter((name) => name !== "");
  const ownerKeys = ownerKeysOf({
    apiVersion: registryMirrorApi.apiVersion,
    kind: registryMirrorApi.kind,
    namespaced: false,
  });
  // A Service's EndpointSlices carry its labels, so the mirror's name.
  const labelledMirror = (slice: KubeObject): string[] => {
    const name = slice.metadata?.labels?.[mirrorLabel];
    return name ? [name] : [];
  };
  // A user Secret a mirror refers to (TLS, upstream or S3 credentials, htpasswd) reconciles it.
  // The webhook's certificate Secret: its CA goes into every webhook-mode mirror's configuration.
  const referringMirrors = (secret: KubeObject): string[] => {
    const secretName = secret.metadata?.name;
    const keys = new Set(ownerKeys(secret));
    for (const mirror of mirrors.store.list()) {
      const spec = specOf(mirror);
      const referenced = spec ? userSecretNames(spec, options.namespace) : [];
      const usesWebhook =
        secretName === webhookCertificateSecretName &&
        spec?.nodeConfiguration.modes.includes("webhook") === true;
      if (secretName && (usesWebhook || referenced.includes(secretName)) && mirror.metadata?.name) {
        keys.add(mirror.metadata.name);
      }
    }
    return [...keys];
  };

  // Warm-ahead runs with the controller (the leader only); its counters outlive a leadership.
  const warmCounters = options.warmAhead ? createWarmCounters() : undefined;
  const ownedMirrors = (): WarmedMirror[] =>
    mirrors.store.list().flatMap((mirror) => {
      const spec = specOf(mirror);
      const name = mirror.metadata?.name;
      return spec && name && ownerOf(mirror) === installation ? [{ name, spec }] : [];
    });
  let warmAhead: WarmAhead | undefined;
  // Warm-ahead watches the namespaces the mirrors list: a mirror changed may change them.
  const mirrorsChanged = () => warmAhead?.mirrorsChanged();
  mirrors.addEventHandler({
    onAdd: mirrorsChanged,
    onUpdate: mirrorsChanged,
    onDelete: mirrorsChanged,
  });

  let controller: Controller | undefined;
  let reconciling: { promise: Promise<void>; resolve: () => void } = deferred();
  const startReconciling = async (): Promise<void> => {
    const current = createController({
      name: "registry-mirror",
      informers: [
        { informer: mirrors },
        ...ownedKinds.map(({ kind }) => ({
          informer: informers[kind],
          keysOf:
            kind === "Secret"
              ? referringMirrors
              : kind === "EndpointSlice"
                ? labelledMirror
                : ownerKeys,
        })),
        { informer: nodes, keysOf: nodePortMirrors },
      ],
      reconcile,
      concurrency: options.concurrency ?? 2,
      logger,
    });
    controller = current;
    health.started();
    await current.start();
    if (controller !== current) return;
    if (options.warmAhead && warmCounters) {
      warmAhead = createWarmAhead({
        client,
        mirrors: ownedMirrors,
        secrets: informers.Secret,
        namespace: options.namespace,
        ...(options.warmAhead.cacheAddress ? { cacheAddress: options.warmAhead.cacheAddress } : {}),
        counters: warmCounters,
        watchTimeoutSeconds,
        logger,
      });
      warmAhead.start();
    }
    reconciling.resolve();
  };
  const stopReconciling = async (): Promise<void> => {
    const current = controller;
    controller = undefined;
    health.stopped();
    reconciling = deferred();
    const warming = warmAhead;
    warmAhead = undefined;
    await Promise.all([current?.close({ drain: false }), warming?.close()]);
  };

  const elector =
    options.leaderElection === false
      ? undefined
      : createLeaderElector({
          client,
          namespace: options.namespace,
          name: leaseName,
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
    status() {
      const reconcilingNow = controller !== undefined;
      const informersSynced = [mirrors, nodes, ...Object.values(informers)].every((informer) =>
        informer.hasSynced(),
      );
      const queueDepth = controller?.queue.length ?? 0;
      const mirrorsByOwner: Record<string, number> = {};
      for (const mirror of reconcilingNow ? mirrors.store.list() : []) {
        const owner = ownerOf(mirror) ?? "";
        mirrorsByOwner[owner] = (mirrorsByOwner[owner] ?? 0) + 1;
      }
      return {
        installation,
        identity: options.identity,
        leader: reconcilingNow,
        informersSynced,
        queueDepth,
        mirrorsByOwner,
        reconciles: { ...reconciles },
        problems: health.problems({ reconciling: reconcilingNow, informersSynced, queueDepth }),
      };
    },
    whenReconciling: () => reconciling.promise,
    warmCounters: () => warmCounters,
    async close() {
      if (closed) return;
      closed = true;
      if (elector) await elector.close();
      await stopReconciling();
      await Promise.all([
        mirrors.close(),
        nodes.close(),
        ...Object.values(informers).map((informer) => informer.close()),
      ]);
      await client.close();
    },
  };
}

/**
 * A mirror's parsed spec, or undefined when it does not parse (its reconcile reports that).
 * Kept per object: the informer replaces the object on every change.
 */
const parsedSpecs = new WeakMap<KubeObject, RegistryMirrorSpec | undefined>();

function specOf(mirror: KubeObject): RegistryMirrorSpec | undefined {
  if (!parsedSpecs.has(mirror)) {
    let spec: RegistryMirrorSpec | undefined;
    try {
      spec = parseRegistryMirrorSpec(mirror.spec);
    } catch {
      spec = undefined;
    }
    parsedSpecs.set(mirror, spec);
  }
  return parsedSpecs.get(mirror);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
