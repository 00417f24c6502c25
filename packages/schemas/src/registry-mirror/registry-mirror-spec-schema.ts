import { z } from "zod";
import { byteSize, duration, registryHost } from "../cache-config/field-schemas.js";
import {
  condition,
  nodeSelector,
  objectName,
  toleration,
  volumeClaimTemplate,
} from "./kubernetes-schemas.js";

// spec of a RegistryMirror (regmirror.dev/v1alpha1). The four fields of the ocadotechnology
// mirror-operator (upstreamUrl, masqueradeUrl, credentialsSecret, volumeClaimTemplate, and its
// priorityClass) keep their meaning, so its manifests work with only apiVersion changed.

const upstreamUrlExpectation =
  "a registry host or URL like registry-1.docker.io, quay.io:443 or https://registry.example.com";

/** mirror-operator wrote a bare host (hub.docker.io); a URL is accepted too. Becomes an origin. */
export const upstreamUrl = z.unknown().transform((value, context) => {
  const url = typeof value === "string" ? parseHostOrUrl(value.trim()) : undefined;
  const acceptable =
    url !== undefined &&
    (url.protocol === "https:" || url.protocol === "http:") &&
    url.username === "" &&
    url.password === "" &&
    (url.pathname === "/" || url.pathname === "") &&
    url.search === "" &&
    url.hash === "";
  if (url === undefined || !acceptable) {
    context.addIssue({ code: "custom", message: upstreamUrlExpectation });
    return z.NEVER;
  }
  return url.origin;
});

function parseHostOrUrl(text: string): URL | undefined {
  if (text === "") return undefined;
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    return undefined;
  }
}

const s3Storage = z.strictObject({
  bucket: z.string().min(1),
  region: z.string().min(1).optional(),
  endpoint: z
    .url({
      protocol: /^https?$/,
      error: "an S3 endpoint URL like https://s3.eu-west-1.amazonaws.com",
    })
    .optional(),
  forcePathStyle: z.boolean().optional(),
  prefix: z.string().optional(),
  credentials: z
    .strictObject({
      mode: z.enum(["static", "env", "web-identity"]),
      /** static: a Secret with accessKeyId and secretAccessKey (and optionally sessionToken). */
      secretName: objectName.optional(),
      /** web-identity: the IAM role for the service account. */
      roleArn: z.string().min(1).optional(),
    })
    .optional(),
});

export const exposureTypes = ["ClusterIP", "NodePort", "Ingress"] as const;

const exposure = z.strictObject({
  type: z.enum(exposureTypes),
  /** NodePort: a fixed port (30000-32767); chosen by Kubernetes when left out. */
  nodePort: z
    .number({ error: "a port between 30000 and 32767" })
    .int()
    .min(30_000, { error: "a port between 30000 and 32767" })
    .max(32_767, { error: "a port between 30000 and 32767" })
    .optional(),
  /** Ingress with TLS passthrough (the cache terminates TLS, as in the MSR docs). */
  ingress: z
    .strictObject({
      host: registryHost,
      className: z.string().min(1).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});

export const nodeConfigurationModes = [
  "containerd",
  "docker",
  "cri-o",
  "hosts-file",
  "imageswap",
] as const;

const nodeConfiguration = z.strictObject({
  /** What the node agent writes on each node; an empty list leaves the nodes alone. */
  modes: z.array(z.enum(nodeConfigurationModes), { error: "a list of node configuration modes" }),
  /** Where the node agent runs (default: every node). */
  nodeSelector: nodeSelector.optional(),
  tolerations: z.array(toleration).optional(),
  containerd: z
    .strictObject({
      certsDirectory: z.string().startsWith("/", { error: "an absolute path" }).optional(),
      /** containerd only falls back from a hung mirror after this (DESIGN.md, known traps). */
      dialTimeout: duration.optional(),
    })
    .optional(),
  imageswap: z
    .strictObject({
      configMapName: objectName.optional(),
      namespace: objectName.optional(),
    })
    .optional(),
});

export const clientAuthModes = ["none", "pass-through", "htpasswd"] as const;

/**
 * Who may pull through the mirror. Left out: pass-through when credentialsSecret is set (the
 * mirror's credentials are never handed to anonymous clients unless mode none says so), else
 * none.
 */
const clientAuth = z.strictObject({
  mode: z.enum(clientAuthModes),
  /** htpasswd: a Secret whose key `htpasswd` holds bcrypt entries (`htpasswd -B`). */
  htpasswdSecret: objectName.optional(),
});

export const registryMirrorSpecSchema = z.strictObject({
  // mirror-operator's fields
  upstreamUrl,
  masqueradeUrl: registryHost.optional(),
  credentialsSecret: objectName.optional(),
  volumeClaimTemplate: volumeClaimTemplate.optional(),
  priorityClass: objectName.optional(),
  // regmirror's
  mirrorOf: z
    .array(registryHost)
    .min(1, { error: "at least one host (or leave mirrorOf out)" })
    .optional(),
  upstreamCaBundle: z
    .strictObject({ configMapName: objectName, key: z.string().min(1).optional() })
    .optional(),
  tls: z
    .strictObject({
      /** A kubernetes.io/tls Secret the user manages; without it the operator makes a CA. */
      secretName: objectName.optional(),
      certificateDuration: duration.optional(),
      renewBefore: duration.optional(),
    })
    .optional(),
  replicas: z.number().int().min(1, { error: "at least 1" }).max(100).optional(),
  storage: z.strictObject({ s3: s3Storage }).optional(),
  blobTtl: duration.optional(),
  maxSize: byteSize.optional(),
  exposure: exposure.optional(),
  placement: z
    .strictObject({
      nodeSelector: nodeSelector.optional(),
      tolerations: z.array(toleration).optional(),
    })
    .optional(),
  nodeConfiguration: nodeConfiguration.optional(),
  clientAuth: clientAuth.optional(),
});

/**
 * UpstreamCredentialsShared: True when anyone who reaches the mirror can pull everything its
 * upstream credentials can (credentialsSecret with clientAuth.mode none, written explicitly).
 */
export const registryMirrorConditionTypes = [
  "Ready",
  "Progressing",
  "Degraded",
  "UpstreamCredentialsShared",
] as const;

export const registryMirrorStatusSchema = z.strictObject({
  observedGeneration: z.number().int().nonnegative().optional(),
  conditions: z
    .array(condition.extend({ type: z.enum(registryMirrorConditionTypes) }))
    .optional()
    .superRefine((conditions, context) => {
      const seen = new Set<string>();
      for (const [index, { type }] of (conditions ?? []).entries()) {
        if (seen.has(type)) {
          context.addIssue({
            code: "custom",
            path: [index, "type"],
            message: "each condition type once",
          });
        }
        seen.add(type);
      }
    }),
  /** host:port clients and nodes use (service IP, node port or ingress host). */
  serviceAddress: z.string().optional(),
  /** The node port when exposure.type is NodePort: the mirror is at <any node IP>:<nodePort>. */
  nodePort: z.number().int().min(1).max(65_535).optional(),
  readyReplicas: z.number().int().nonnegative().optional(),
  nodesConfigured: z.number().int().nonnegative().optional(),
  /** Nodes the agent should configure; nodesConfigured / nodesTotal shows progress. */
  nodesTotal: z.number().int().nonnegative().optional(),
});

export type RegistryMirrorSpecInput = z.input<typeof registryMirrorSpecSchema>;
export type RegistryMirrorSpecFields = z.output<typeof registryMirrorSpecSchema>;
export type RegistryMirrorStatus = z.output<typeof registryMirrorStatusSchema>;
export type RegistryMirrorCondition = z.output<typeof condition>;
