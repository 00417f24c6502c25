// The cache's StatefulSet (volume) or Deployment (S3) rendered from a mirror's spec.
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { adminPasswordKey, adminPasswordVariable } from "./admin-credential.js";
import { peerEnvironment, usesPeers } from "./cache-peers.js";
import { htpasswdKey } from "./client-auth.js";
import { containerResources } from "./container-resources.js";
import type { MirrorContext } from "./mirror-context.js";
import { cachePort, mirrorLabels, selectorLabels } from "./object-names.js";
import { cacheDrainTimeoutSeconds, cacheMountPaths } from "./render-cache-config.js";

// The cache pods: a StatefulSet with the mirror's volume claim template, or a Deployment when
// the blobs live in S3 (nothing on local disk worth keeping). Restricted pod security.

export interface WorkloadInputs {
  /** Hash of the cache config, TLS and credentials: a change rolls the pods. */
  rolloutHash: string;
}

/** The cache image's user (distroless's nonroot, docs/adr/0017-container-images.md). */
const cacheImageUser = 65532;

/** After the drain, the store is closed: a little more than the drain for that. */
export const cacheTerminationGracePeriodSeconds = cacheDrainTimeoutSeconds + 15;

const restrictedContainerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

function podTemplate(context: MirrorContext, inputs: WorkloadInputs): Record<string, unknown> {
  const { spec, names } = context;
  const volumes: Record<string, unknown>[] = [
    { name: "config", configMap: { name: names.cacheConfig } },
    { name: "tls", secret: { secretName: tlsSecretName(context) } },
    { name: "tmp", emptyDir: {} },
  ];
  const mounts: Record<string, unknown>[] = [
    { name: "config", mountPath: cacheMountPaths.config, readOnly: true },
    { name: "tls", mountPath: cacheMountPaths.tls, readOnly: true },
    { name: "tmp", mountPath: "/tmp" },
  ];
  if (spec.credentialsSecret !== null) {
    volumes.push({ name: "upstream-auth", secret: { secretName: names.upstreamAuthSecret } });
    mounts.push({ name: "upstream-auth", mountPath: cacheMountPaths.upstreamAuth, readOnly: true });
  }
  if (spec.upstreamCaBundle !== null) {
    volumes.push({ name: "upstream-ca", configMap: { name: spec.upstreamCaBundle.configMapName } });
    mounts.push({ name: "upstream-ca", mountPath: cacheMountPaths.upstreamCa, readOnly: true });
  }
  if (spec.clientAuth.mode === "htpasswd") {
    volumes.push({
      name: "client-auth",
      secret: {
        secretName: spec.clientAuth.htpasswdSecret,
        items: [{ key: htpasswdKey, path: htpasswdKey }],
      },
    });
    mounts.push({ name: "client-auth", mountPath: cacheMountPaths.clientAuth, readOnly: true });
  }
  if (spec.storage.kind === "pvc") {
    mounts.push({ name: "data", mountPath: cacheMountPaths.data });
  }
  const env: Record<string, unknown>[] = [];
  if (spec.storage.kind === "s3" && spec.storage.credentials.mode === "static") {
    const secretName = spec.storage.credentials.secretName;
    for (const [variable, key, optional] of [
      ["AWS_ACCESS_KEY_ID", "accessKeyId", false],
      ["AWS_SECRET_ACCESS_KEY", "secretAccessKey", false],
      ["AWS_SESSION_TOKEN", "sessionToken", true],
    ] as const) {
      env.push({
        name: variable,
        valueFrom: { secretKeyRef: { name: secretName, key, optional } },
      });
    }
  }
  if (spec.warmAhead !== null) {
    env.push({
      name: adminPasswordVariable,
      valueFrom: { secretKeyRef: { name: names.adminSecret, key: adminPasswordKey } },
    });
  }
  const peers = usesPeers(context);
  if (peers) env.push(...peerEnvironment(context));
  return {
    metadata: {
      labels: mirrorLabels(context.name, "cache"),
      annotations: { "regmirror.dev/rollout-hash": inputs.rolloutHash },
    },
    spec: {
      // Only peers call the API server (to list their Service's EndpointSlices). Always named:
      // the API server copies it to the deprecated serviceAccount, which would bring it back.
      serviceAccountName: peers ? context.names.cacheServiceAccount : "default",
      automountServiceAccountToken: peers,
      enableServiceLinks: false,
      // The cache image's unprivileged user; fsGroup makes the volume writable for it.
      securityContext: {
        runAsNonRoot: true,
        runAsUser: cacheImageUser,
        runAsGroup: cacheImageUser,
        fsGroup: cacheImageUser,
        seccompProfile: { type: "RuntimeDefault" },
      },
      terminationGracePeriodSeconds: cacheTerminationGracePeriodSeconds,
      ...(Object.keys(spec.placement.nodeSelector).length > 0
        ? { nodeSelector: { ...spec.placement.nodeSelector } }
        : {}),
      ...(spec.placement.tolerations.length > 0
        ? { tolerations: spec.placement.tolerations.map((toleration) => ({ ...toleration })) }
        : {}),
      ...(spec.placement.priorityClassName !== null
        ? { priorityClassName: spec.placement.priorityClassName }
        : {}),
      ...imagePullSecrets(context.images),
      containers: [
        {
          name: "cache",
          image: context.images.cache,
          ...(context.images.pullPolicy ? { imagePullPolicy: context.images.pullPolicy } : {}),
          args: ["serve", cacheMountPaths.configFile],
          ports: [{ name: "https", containerPort: cachePort, protocol: "TCP" }],
          ...(env.length > 0 ? { env } : {}),
          // /readyz fails as soon as a stopping cache drains; both answer before client auth.
          // The kubelet does not check the certificate of an HTTPS probe.
          readinessProbe: {
            httpGet: { path: "/readyz", port: "https", scheme: "HTTPS" },
            periodSeconds: 5,
            failureThreshold: 2,
          },
          livenessProbe: {
            httpGet: { path: "/healthz", port: "https", scheme: "HTTPS" },
            initialDelaySeconds: 10,
            periodSeconds: 20,
            timeoutSeconds: 5,
            failureThreshold: 3,
          },
          resources: containerResources(spec.resources),
          securityContext: restrictedContainerSecurity,
          volumeMounts: mounts,
        },
      ],
      volumes,
    },
  };
}

/** The pod spec's imagePullSecrets for the operator's --image-pull-secret names, if any. */
export function imagePullSecrets(images: MirrorContext["images"]): Record<string, unknown> {
  const names = images.pullSecrets ?? [];
  return names.length > 0 ? { imagePullSecrets: names.map((name) => ({ name })) } : {};
}

export function tlsSecretName(context: MirrorContext): string {
  return context.spec.tls.mode === "secret" ? context.spec.tls.secretName : context.names.tlsSecret;
}

export function renderCacheWorkload(context: MirrorContext, inputs: WorkloadInputs): KubeObject {
  const { spec, names, namespace, name } = context;
  const metadata = { name: names.cache, namespace, labels: mirrorLabels(name, "cache") };
  const selector = { matchLabels: selectorLabels(name, "cache") };
  if (spec.storage.kind === "s3") {
    return {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata,
      spec: { replicas: spec.replicas, selector, template: podTemplate(context, inputs) },
    };
  }
  const template = spec.storage.volumeClaimTemplate;
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata,
    spec: {
      replicas: spec.replicas,
      serviceName: names.headlessService,
      podManagementPolicy: "Parallel",
      persistentVolumeClaimRetentionPolicy: { ...spec.storage.retention },
      selector,
      template: podTemplate(context, inputs),
      volumeClaimTemplates: [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { ...template.metadata, name: "data" },
          spec: template.spec,
        },
      ],
    },
  };
}
