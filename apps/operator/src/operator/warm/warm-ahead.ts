// Warm-ahead: watches workloads and, when one is created or gets new images, asks each mirror that
// serves those images' registries (and selects the namespace) to warm them. The workloads are
// watched only in the namespaces the mirrors list (a Role there is enough); in every namespace
// only when a mirror with warm-ahead names none.
import { type Clock, type Logger, silentLogger, systemClock } from "@regmirror/core";
import {
  createInformer,
  type Informer,
  type KubeObject,
  type KubernetesClient,
} from "@regmirror/k8s-reconciler";
import {
  formatReference,
  normalizeRegistryHost,
  parseReference,
} from "@regmirror/oci-distribution";
import type { RegistryMirrorSpec } from "@regmirror/schemas";
import { readAdminCredential } from "../render/admin-credential.js";
import { mirrorObjectNames } from "../render/object-names.js";
import { type CacheAddress, requestWarm } from "./cache-warm-client.js";
import type { WarmCounters } from "./warm-metrics.js";
import { createWarmQueue } from "./warm-queue.js";
import { warmedKinds, workloadImages } from "./workload-images.js";

/** A warmed image is not asked for again for this long. */
const rememberMs = 10 * 60_000;

export interface WarmedMirror {
  name: string;
  spec: RegistryMirrorSpec;
}

export interface WarmAheadOptions {
  client: KubernetesClient;
  /** The mirrors this installation owns, with their parsed specs. */
  mirrors(): readonly WarmedMirror[];
  /** Secrets in the operator's namespace (the admin credential, the CA). */
  secrets: Informer;
  /** The operator's namespace: its workloads are never warmed (nor kube-system's). */
  namespace: string;
  /** Where a mirror's cache answers; default its Service over https with the mirror's CA. */
  cacheAddress?: (mirror: WarmedMirror) => CacheAddress;
  /** Kept by the caller across leaderships. */
  counters: WarmCounters;
  watchTimeoutSeconds?: number;
  logger?: Logger;
  clock?: Clock;
}

export interface WarmAhead {
  start(): void;
  /** The mirrors (or their warm-ahead namespaces) changed: watch what they select now. */
  mirrorsChanged(): void;
  close(): Promise<void>;
}

/** All namespaces: some mirror with warm-ahead lists none. */
const everyNamespace = "";

/**
 * The namespaces whose workloads warm-ahead watches: those the mirrors list (without the excluded
 * ones), or `[everyNamespace]` when one lists none; empty when no mirror has warm-ahead.
 */
export function watchedNamespaces(
  mirrors: readonly WarmedMirror[],
  excluded: ReadonlySet<string>,
): string[] {
  const names = new Set<string>();
  for (const { spec } of mirrors) {
    if (!spec.warmAhead) continue;
    if (spec.warmAhead.namespaces.length === 0) return [everyNamespace];
    for (const name of spec.warmAhead.namespaces) if (!excluded.has(name)) names.add(name);
  }
  return [...names].sort();
}

export function createWarmAhead(options: WarmAheadOptions): WarmAhead {
  const logger = options.logger ?? silentLogger;
  const { counters } = options;
  const secretOf = (name: string) => options.secrets.store.get(`${options.namespace}/${name}`);
  const decode = (secret: KubeObject | undefined, key: string) => {
    const value = (secret?.data as Record<string, string> | undefined)?.[key];
    return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
  };
  const defaultAddress = (mirror: WarmedMirror): CacheAddress => {
    const names = mirrorObjectNames(mirror.name);
    const tls = mirror.spec.tls;
    const caSecret = tls.mode === "secret" ? secretOf(tls.secretName) : secretOf(names.tlsSecret);
    const caPem = decode(caSecret, "ca.crt") ?? decode(caSecret, "tls.crt");
    return {
      url: `https://${names.cache}.${options.namespace}.svc:443`,
      ...(caPem ? { caPem } : {}),
    };
  };
  const mirrorNamed = (name: string) => options.mirrors().find((mirror) => mirror.name === name);

  const queue = createWarmQueue({
    async warm(job) {
      const mirror = mirrorNamed(job.mirror);
      const credential = readAdminCredential(secretOf(mirrorObjectNames(job.mirror).adminSecret));
      if (!mirror || !credential) {
        throw new Error("the mirror or its admin credential Secret is gone");
      }
      const address = (options.cacheAddress ?? defaultAddress)(mirror);
      return requestWarm(address, credential, job.image);
    },
    concurrency: (name) => mirrorNamed(name)?.spec.warmAhead?.concurrency ?? 1,
    rememberMs,
    onFinished(job, outcome) {
      counters.finished(job.mirror, outcome);
      logger.info({ ...job, outcome }, "warm-ahead: image warmed");
    },
    logger,
    clock: options.clock ?? systemClock,
  });

  const excluded = new Set(["kube-system", options.namespace]);
  const warmNewImages = (workload: KubeObject, newImages: readonly string[]): void => {
    const namespace = workload.metadata?.namespace ?? "";
    if (newImages.length === 0 || excluded.has(namespace)) return;
    for (const mirror of options.mirrors()) {
      const settings = mirror.spec.warmAhead;
      if (!settings) continue;
      if (settings.namespaces.length > 0 && !settings.namespaces.includes(namespace)) continue;
      const registries = new Set(
        mirror.spec.mirrorOf.map((host) => normalizeRegistryHost(host.toLowerCase())),
      );
      for (const image of newImages) {
        let reference: ReturnType<typeof parseReference>;
        try {
          reference = parseReference(image);
        } catch {
          continue; // the webhook (or the kubelet) reports unparseable images
        }
        if (!registries.has(reference.registry)) continue;
        const added = queue.add({ mirror: mirror.name, image: formatReference(reference) });
        counters.requested(mirror.name, added);
      }
    }
  };

  /** One informer per kind for `namespace` (everyNamespace: all of them). */
  const watchNamespace = (namespace: string): Informer[] =>
    warmedKinds.map(({ apiVersion, kind }) => {
      const informer = createInformer({
        client: options.client,
        apiVersion,
        kind,
        ...(namespace === everyNamespace ? {} : { namespace }),
        logger,
        watchTimeoutSeconds: options.watchTimeoutSeconds,
      });
      informer.addEventHandler({
        // Objects of the first list existed before the operator looked: not "created".
        onAdd: (object) => {
          if (informer.hasSynced()) warmNewImages(object, workloadImages(object));
        },
        onUpdate: (previous, object) => {
          const before = new Set(workloadImages(previous));
          warmNewImages(
            object,
            workloadImages(object).filter((image) => !before.has(image)),
          );
        },
      });
      return informer;
    });

  /** The informers of each watched namespace; changed only by `watchSelected`. */
  const watched = new Map<string, Informer[]>();
  let started = false;
  let closing: Promise<unknown> = Promise.resolve();
  const watchSelected = (): void => {
    const wanted = new Set(watchedNamespaces(options.mirrors(), excluded));
    const stopping: Informer[] = [];
    const before = watched.size;
    for (const [namespace, informers] of watched) {
      if (wanted.has(namespace)) continue;
      watched.delete(namespace);
      stopping.push(...informers);
    }
    for (const namespace of wanted) {
      if (watched.has(namespace)) continue;
      const informers = watchNamespace(namespace);
      watched.set(namespace, informers);
      for (const informer of informers) informer.start();
    }
    if (stopping.length > 0 || watched.size !== before) {
      logger.info(
        { namespaces: [...wanted].map((name) => name || "(all)") },
        "warm-ahead: watching workloads in other namespaces",
      );
      closing = Promise.all([closing, ...stopping.map((informer) => informer.close())]);
    }
  };

  return {
    start() {
      started = true;
      watchSelected();
    },
    mirrorsChanged() {
      if (started) watchSelected();
    },
    async close() {
      started = false;
      queue.close();
      const informers = [...watched.values()].flat();
      watched.clear();
      await Promise.all([closing, ...informers.map((informer) => informer.close())]);
    },
  };
}
