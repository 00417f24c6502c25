// One pass over a live mirror: its objects applied in order, then what the cluster reports.
import { createHash } from "node:crypto";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { normalizeRegistryHost } from "@regmirror/oci-distribution";
import { loadCacheConfigFromYaml } from "@regmirror/schemas";
import {
  formatImageswapTarget,
  imageswapTarget,
  recordedImageswapTarget,
  syncImageswapMaps,
  withImageswapRecord,
} from "../kube/imageswap-sync.js";
import { createOwnedObjectWriter } from "../kube/owned-object-writer.js";
import { deleteOwned } from "../kube/owned-objects.js";
import { readReferencedSecrets } from "../kube/referenced-secrets.js";
import { readWebhookCaBundle } from "../kube/webhook-certificate.js";
import { OperatorError } from "../operator-error.js";
import { renderAdminSecret } from "../render/admin-credential.js";
import {
  type PeerMember,
  peerCaKey,
  peerCertificateWarning,
  peerMembers,
  renderPeerRbac,
  renderPeerSecret,
  renderPeersConfig,
  samplePeerEnvironment,
  usesPeers,
} from "../render/cache-peers.js";
import { readHtpasswdSecret } from "../render/client-auth.js";
import { clientAddress, extraCertificateHosts } from "../render/exposure-addresses.js";
import type { MirrorContext } from "../render/mirror-context.js";
import { mirrorLabels } from "../render/object-names.js";
import { cacheMountPaths, renderCacheConfig } from "../render/render-cache-config.js";
import { renderCacheWorkload } from "../render/render-cache-workload.js";
import {
  nodeFacingHost,
  nodeRuntimes,
  renderNodeAgentDaemonSet,
  renderNodeState,
  renderNodeStateConfigMap,
} from "../render/render-node-agent.js";
import {
  renderClientService,
  renderHeadlessService,
  renderIngress,
} from "../render/render-services.js";
import {
  registryPathSegment,
  renderWebhookConfiguration,
} from "../render/render-webhook-configuration.js";
import { resolveTls } from "../render/tls-material.js";
import { renderUpstreamAuthSecret } from "../render/upstream-credentials.js";
import {
  type NodeProgress,
  nodeProgress,
  type WorkloadProgress,
  workloadProgress,
} from "./mirror-status.js";
import { uninstallNodeAgents, uninstallStartedAt } from "./node-agent-uninstall.js";
import type { OperatorDependencies } from "./operator-dependencies.js";

// One pass over a live mirror: every owned object applied in dependency order (the Service
// first: its addresses go into the certificate and the node state), owned objects of a previous
// shape removed, then what the cluster reports about them.

export interface AppliedMirror {
  workload: WorkloadProgress;
  nodes: NodeProgress | undefined;
  /** host:port clients should use; undefined while a load balancer has no address. */
  serviceAddress: string | undefined;
  clusterIp: string;
  nodePort?: number;
  warnings: { reason: string; message: string }[];
  /** When the serving certificate is due for renewal (operator CA). */
  renewAtMs?: number;
  /** With replicas > 1: the replicas in the client Service's EndpointSlices. */
  peers?: PeerMember[];
  /** What this pass created, updated or deleted ("created Service regmirror-hub"). */
  changes: string[];
}

function hashOf(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex").slice(0, 16);
}

export async function applyMirror(
  context: MirrorContext,
  dependencies: OperatorDependencies,
  signal?: AbortSignal,
): Promise<AppliedMirror> {
  const { client, informers, clock } = dependencies;
  const { mirror, spec, namespace } = context;
  const writer = createOwnedObjectWriter({
    client,
    informers,
    owner: mirror,
    appliedVersions: dependencies.appliedVersions,
    signal,
  });
  const nodes = dependencies.nodes();

  // Services first: their addresses are part of the certificate and of the node state.
  const service = await writer.apply(renderClientService(context));
  await writer.apply(renderHeadlessService(context));
  const clusterIp = String((service.spec as { clusterIP?: string } | undefined)?.clusterIP ?? "");
  const ingress = renderIngress(context);
  if (ingress) await writer.apply(ingress);

  // TLS and upstream credentials: the Secrets are read fresh, not from the cache, so two
  // reconciles in a row never issue two certificates.
  const secrets = await readReferencedSecrets(client, context, signal);
  const extraHosts = extraCertificateHosts(spec, service, nodes);
  const tls = await resolveTls(context, clusterIp, extraHosts, secrets.find, clock.now());
  for (const secret of tls.secrets) await writer.apply(secret);
  const upstreamAuth = renderUpstreamAuthSecret(context, secrets.credentials);
  if (upstreamAuth) await writer.apply(upstreamAuth);
  const htpasswd = readHtpasswdSecret(context, secrets.find);
  // Warm-ahead asks the cache's admin API, behind a credential only the operator and cache know.
  const admin =
    spec.warmAhead !== null
      ? renderAdminSecret(context, secrets.find(context.names.adminSecret))
      : undefined;
  if (admin) await writer.apply(admin.secret);
  // Replicas fetch each digest through its owner (ADR 0034): a shared secret and the right to
  // list the Service's EndpointSlices.
  const peers = usesPeers(context)
    ? renderPeerSecret(context, secrets.find(context.names.peerSecret))
    : undefined;
  if (peers) {
    await writer.apply(peers.secret);
    for (const object of renderPeerRbac(context)) await writer.apply(object);
  }

  // ImageSwap: registry -> "<mirror host>/<registry path segment>" (the cache routes by path
  // prefix, where a registry's port travels as `_port`: `reg:5000` -> `<mirror>/reg_5000`).
  const swapHost =
    spec.exposure.type === "Ingress" ? spec.exposure.host : nodeFacingHost(context, clusterIp);
  const desiredSwaps = new Map<string, string>(
    spec.mirrorOf.map((host) => [host, `${swapHost}/${registryPathSegment(host)}`]),
  );
  const usesImageswap = spec.nodeConfiguration.modes.includes("imageswap");
  const target = imageswapTarget(context, dependencies);
  const previousTarget = recordedImageswapTarget(informers, namespace, context.names.cacheConfig);
  const warnings: AppliedMirror["warnings"] = [];
  const peerWarning = peerCertificateWarning(context, tls.certificatePem);
  if (peerWarning) warnings.push(peerWarning);
  if (
    previousTarget &&
    (!usesImageswap || formatImageswapTarget(previousTarget) !== formatImageswapTarget(target))
  ) {
    await syncImageswapMaps(client, previousTarget, context.name, new Map(), signal);
  }
  if (usesImageswap) {
    const conflicts = await syncImageswapMaps(client, target, context.name, desiredSwaps, signal);
    if (conflicts.length > 0) {
      warnings.push({
        reason: "ImageSwapConflict",
        message: `ImageSwap maps ${formatImageswapTarget(target)} already map ${conflicts.join(", ")} (lines regmirror did not write): left as they are`,
      });
    }
  }

  // Webhook mode: the API server sends new pods to the operator's webhook, which points images
  // of the mirrored registries at the same host ImageSwap uses.
  if (spec.nodeConfiguration.modes.includes("webhook")) {
    const webhook = await webhookConfiguration(context, dependencies, swapHost, signal);
    if ("warning" in webhook) {
      warnings.push(webhook.warning);
      writer.keep("MutatingWebhookConfiguration", context.names.webhookConfiguration);
    } else {
      await writer.apply(webhook.configuration);
    }
  }

  // The cache config is checked with the cache's own parser before it is written. It also
  // records where this mirror's ImageSwap lines are (removed on deletion).
  const cacheConfig = renderCacheConfig(
    spec,
    peers ? renderPeersConfig(context, cacheMountPaths.config) : undefined,
  );
  try {
    loadCacheConfigFromYaml(cacheConfig, "the rendered cache config", {
      environment: peers ? samplePeerEnvironment(peers.value) : {},
    });
  } catch (error) {
    throw new OperatorError(
      "REGMIRROR_OPERATOR_RENDER",
      "CacheConfigInvalid",
      `the cache config rendered from this spec is invalid: ${(error as Error).message}`,
    );
  }
  await writer.apply(
    withImageswapRecord(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: context.names.cacheConfig,
          namespace,
          labels: mirrorLabels(context.name, "cache"),
        },
        data: { "config.yml": cacheConfig, ...(peers ? { [peerCaKey]: tls.caPem } : {}) },
      },
      usesImageswap ? target : undefined,
    ),
  );

  // The pods restart when what they read at start-up changes.
  const authData = JSON.stringify(upstreamAuth?.data ?? {});
  const workload = await writer.apply(
    renderCacheWorkload(context, {
      rolloutHash: hashOf(
        cacheConfig,
        tls.certificatePem,
        authData,
        htpasswd ?? "",
        admin?.credential.password ?? "",
        peers?.value ?? "",
      ),
    }),
  );

  // The node agent and its desired state. Without a node runtime to configure, no DaemonSet
  // runs; one left from before first takes its files off the nodes, then goes.
  let nodeAgents: NodeProgress | undefined;
  const existingAgent = informers.DaemonSet.store.get(`${namespace}/${context.names.nodeAgent}`);
  if (nodeRuntimes(context).length > 0) {
    const nodeState = renderNodeState(context, { clusterIp, caPem: tls.caPem, uninstall: false });
    await writer.apply(renderNodeStateConfigMap(context, nodeState));
    nodeAgents = nodeProgress(
      await writer.apply(renderNodeAgentDaemonSet(context, nodeState, false)),
    );
  } else if (existingAgent) {
    const startedAt = uninstallStartedAt(existingAgent, clock.now());
    const uninstalling = await uninstallNodeAgents(context, startedAt, dependencies, signal);
    const progress = nodeProgress(uninstalling);
    // The state stays until the DaemonSet is gone: agents still read it.
    writer.keep("ConfigMap", context.names.nodeState);
    if (progress.done) {
      await deleteOwned(client, uninstalling, signal);
    } else {
      writer.keep("DaemonSet", context.names.nodeAgent);
      nodeAgents = progress;
    }
  }
  await writer.pruneUnwanted();

  const servicePorts = (service.spec as { ports?: { nodePort?: number }[] } | undefined)?.ports;
  const nodePort = spec.exposure.type === "NodePort" ? servicePorts?.[0]?.nodePort : undefined;
  return {
    workload: workloadProgress(workload, spec.replicas),
    nodes: nodeAgents,
    serviceAddress: clientAddress(spec, service, nodes),
    clusterIp,
    ...(nodePort !== undefined ? { nodePort } : {}),
    warnings,
    ...(peers ? { peers: peerMembers(context, informers.EndpointSlice.store.list()) } : {}),
    ...(tls.renewAtMs !== undefined ? { renewAtMs: tls.renewAtMs } : {}),
    changes: writer.changes(),
  };
}

/** The mirror's webhook configuration, or why it cannot be written yet. */
async function webhookConfiguration(
  context: MirrorContext,
  dependencies: OperatorDependencies,
  mirrorHost: string,
  signal?: AbortSignal,
): Promise<{ configuration: KubeObject } | { warning: { reason: string; message: string } }> {
  const endpoint = dependencies.webhookEndpoint;
  if (!endpoint) {
    return {
      warning: {
        reason: "WebhookNotServed",
        message:
          "nodeConfiguration.modes has webhook, but this operator serves no admission webhook (start it with --webhook-listen): pods are not rewritten",
      },
    };
  }
  const caBundlePem = await readWebhookCaBundle(dependencies.client, context.namespace, signal);
  if (!caBundlePem) {
    return {
      warning: {
        reason: "WebhookCertificatePending",
        message: "the webhook's certificate Secret does not exist yet: pods are not rewritten",
      },
    };
  }
  const registries = new Map(
    context.spec.mirrorOf.map((host) => {
      const normalised = normalizeRegistryHost(host.toLowerCase());
      return [normalised, registryPathSegment(normalised)];
    }),
  );
  return {
    configuration: renderWebhookConfiguration(context, {
      endpoint,
      caBundlePem,
      mirrorHost,
      registries,
    }),
  };
}
