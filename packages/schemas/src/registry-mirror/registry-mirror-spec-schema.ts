// The RegistryMirror spec and status zod schemas, mirror-operator's fields included.
import { isIP } from "node:net";
import { z } from "zod";
import { byteSize, duration, registryHost } from "../cache-config/field-schemas.js";
import { resourceRequirements } from "./container-resources.js";
import {
  condition,
  labelSelector,
  maxListLength,
  nodeSelector,
  objectName,
  persistentVolumeClaimRetentionPolicies,
  toleration,
  volumeClaimTemplate,
} from "./kubernetes-schemas.js";

// spec of a RegistryMirror (regmirror.dev/v1alpha1). The fields of the ocadotechnology
// mirror-operator (upstreamUrl, masqueradeUrl, credentialsSecret, volumeClaimTemplate,
// priorityClass) keep their meaning, so its manifests work with only apiVersion changed.
// Every field has a description: the CRD publishes them to `kubectl explain`.

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

/** An IPv4 or IPv6 address, as written in a certificate's IP SANs. */
export const ipAddress = z.unknown().transform((value, context) => {
  if (typeof value !== "string" || isIP(value) === 0) {
    context.addIssue({ code: "custom", message: "an IP address like 192.0.2.10 or 2001:db8::1" });
    return z.NEVER;
  }
  return value;
});

export const absolutePath = z.string().regex(/^\//, { error: "an absolute path" });

const s3Storage = z
  .strictObject({
    bucket: z.string().min(1).describe("The bucket the cache stores blobs in."),
    region: z.string().min(1).optional().describe("The bucket's region, like eu-west-1."),
    endpoint: z
      .url({
        protocol: /^https?$/,
        error: "an S3 endpoint URL like https://s3.eu-west-1.amazonaws.com",
      })
      .optional()
      .describe("An S3-compatible endpoint URL (MinIO, Ceph...); AWS when left out."),
    forcePathStyle: z
      .boolean()
      .optional()
      .describe(
        "Address the bucket in the path (https://host/bucket), as most non-AWS servers need.",
      ),
    prefix: z.string().optional().describe("A key prefix inside the bucket, to share a bucket."),
    credentials: z
      .strictObject({
        mode: z
          .enum(["static", "env", "web-identity"])
          .describe(
            "static: keys from secretName; env: the SDK's default chain (instance role...); web-identity: IAM role for the service account.",
          ),
        secretName: objectName
          .optional()
          .describe(
            "static: a Secret with accessKeyId and secretAccessKey (and optionally sessionToken), in the operator's namespace.",
          ),
        roleArn: z.string().min(1).optional().describe("web-identity: the IAM role to assume."),
      })
      .optional()
      .describe("How the cache authenticates to S3; default mode env."),
  })
  .describe("An S3 bucket for the blobs.");

export const exposureTypes = ["ClusterIP", "NodePort", "LoadBalancer", "Ingress"] as const;

const nodePortExpectation = "a port between 30000 and 32767";

const exposure = z
  .strictObject({
    type: z
      .enum(exposureTypes)
      .describe(
        "ClusterIP (inside the cluster; default), NodePort (every node's address at nodePort), LoadBalancer (a cloud load balancer's address, added to the certificate once known) or Ingress (TLS passthrough to the cache).",
      ),
    nodePort: z
      .number({ error: nodePortExpectation })
      .int()
      .min(30_000, { error: nodePortExpectation })
      .max(32_767, { error: nodePortExpectation })
      .optional()
      .describe("NodePort: a fixed port (30000-32767); chosen by Kubernetes when left out."),
    loadBalancer: z
      .strictObject({
        className: z
          .string()
          .min(1)
          .optional()
          .describe("The Service's loadBalancerClass: which load balancer implementation."),
        annotations: z
          .record(z.string(), z.string())
          .optional()
          .describe("Annotations of the Service, which cloud load balancers read."),
        sourceRanges: z
          .array(z.string().min(1))
          .max(maxListLength)
          .optional()
          .describe("CIDRs allowed to connect (loadBalancerSourceRanges)."),
      })
      .optional()
      .describe("LoadBalancer: settings of the Service."),
    ingress: z
      .strictObject({
        host: registryHost.describe("The host name clients use; also in the certificate."),
        className: z
          .string()
          .min(1)
          .optional()
          .describe("The IngressClass, e.g. nginx (which must have SSL passthrough on)."),
        annotations: z
          .record(z.string(), z.string())
          .optional()
          .describe("More Ingress annotations; they override the passthrough defaults."),
      })
      .optional()
      .describe("Ingress: TLS passthrough to the cache, as in the MSR docs (ingress-nginx)."),
  })
  .describe("How clients reach the cache; status.serviceAddress gives the address to use.");

/** A whole number from `min` to `max`; the error says the range in `unit`. */
function integerFrom(min: number, max: number, unit: string) {
  const error = `from ${min} to ${max} ${unit}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

export const nodeConfigurationModes = [
  "containerd",
  "docker",
  "cri-o",
  "hosts-file",
  "imageswap",
  "webhook",
] as const;

const nodeConfiguration = z
  .strictObject({
    modes: z
      .array(z.enum(nodeConfigurationModes), { error: "a list of node configuration modes" })
      .describe(
        "What the node agent writes on each node: containerd (certs.d hosts.toml), docker (certs.d CA), cri-o (registries.conf.d drop-in), hosts-file (maps masqueradeUrl to the mirror in /etc/hosts), imageswap (ImageSwap maps lines), webhook (the operator's admission webhook rewrites pod images to the mirror; for nodes nobody can configure). Default [containerd], plus hosts-file when masqueradeUrl is set. An empty list leaves the nodes alone.",
      ),
    nodeSelector: nodeSelector
      .optional()
      .describe("Nodes the agent runs on (default: every node)."),
    tolerations: z
      .array(toleration)
      .max(maxListLength)
      .optional()
      .describe(
        "Tolerations of the node agent pods. Default: every taint ([{operator: Exists}]), so tainted nodes are configured too; an empty list: none.",
      ),
    resources: resourceRequirements
      .optional()
      .describe(
        "Requests and limits of the node agent container; default requests cpu 10m and memory 128Mi, limit memory 256Mi (it uses about 100 MiB).",
      ),
    containerd: z
      .strictObject({
        certsDirectory: absolutePath
          .optional()
          .describe(
            "containerd's config_path when /etc/containerd/config.toml does not say; default /etc/containerd/certs.d.",
          ),
        dialTimeout: duration
          .optional()
          .describe(
            "How long containerd waits for the mirror before it falls back to the upstream, like 2s (default).",
          ),
      })
      .optional()
      .describe("containerd settings."),
    imageswap: z
      .strictObject({
        configMapName: objectName
          .optional()
          .describe(
            "ImageSwap's maps ConfigMap; default the operator's --imageswap-configmap (imageswap-maps).",
          ),
        namespace: objectName
          .optional()
          .describe("ImageSwap's namespace; default the operator's --imageswap-namespace."),
      })
      .optional()
      .describe("Where ImageSwap keeps its maps."),
    webhook: z
      .strictObject({
        namespaceSelector: labelSelector
          .optional()
          .describe(
            "Only pods in namespaces with these labels are rewritten (default: every namespace but the excluded ones).",
          ),
        objectSelector: labelSelector
          .optional()
          .describe("Only pods with these labels are rewritten (default: every pod)."),
        excludeNamespaces: z
          .array(objectName)
          .max(maxListLength)
          .optional()
          .describe(
            "Namespaces whose pods are never rewritten, besides kube-system and the operator's namespace (always excluded: the cache must not depend on itself to start).",
          ),
        timeoutSeconds: integerFrom(1, 10, "seconds")
          .optional()
          .describe(
            "How long the API server waits for the webhook before it admits the pod unchanged (failurePolicy Ignore); default 3.",
          ),
      })
      .optional()
      .describe("Which pods the admission webhook rewrites (modes has webhook)."),
  })
  .describe(
    "How nodes are made to use the mirror: the node agent DaemonSet, ImageSwap's maps or the operator's admission webhook.",
  );

export const clientAuthModes = ["none", "pass-through", "htpasswd"] as const;

/**
 * Who may pull through the mirror. Left out: pass-through when credentialsSecret is set (the
 * mirror's credentials are never handed to anonymous clients unless mode none says so), else
 * none.
 */
const clientAuth = z
  .strictObject({
    mode: z
      .enum(clientAuthModes)
      .describe(
        "none (anyone who reaches the mirror pulls), pass-through (a client pulls what its own credentials for the upstream allow) or htpasswd (the cache's own users).",
      ),
    htpasswdSecret: objectName
      .optional()
      .describe("htpasswd: a Secret whose key htpasswd holds bcrypt entries (htpasswd -B)."),
  })
  .describe(
    "Who may pull through the mirror. Default: pass-through when credentialsSecret is set (the mirror's credentials are never handed to anonymous clients unless mode none says so), else none.",
  );

export const registryMirrorSpecSchema = z
  .strictObject({
    // mirror-operator's fields
    upstreamUrl: upstreamUrl.describe(
      "The registry to mirror: a host as mirror-operator wrote it (hub.docker.io) or a URL like https://quay.io. Docker Hub under any of its names (docker.io, registry-1.docker.io, index.docker.io, hub.docker.io) is reached at https://registry-1.docker.io.",
    ),
    masqueradeUrl: registryHost
      .optional()
      .describe(
        "The host name nodes use for the mirror (default mirror-<upstream host>, as mirror-operator). When set, the node agents map it to the mirror in /etc/hosts (hosts-file mode) unless nodeConfiguration.modes says otherwise; the condition MasqueradeHostMapped says whether nodes resolve it.",
      ),
    credentialsSecret: objectName
      .optional()
      .describe(
        "A Secret with username and password (or a kubernetes.io/dockerconfigjson Secret) for the upstream; in the operator's namespace unless credentialsSecretNamespace names another.",
      ),
    credentialsSecretNamespace: objectName
      .optional()
      .describe(
        "The namespace of credentialsSecret when it is not the operator's (mirror-operator read it from its own namespace, often default). The operator needs the right to read Secrets there (Helm value credentialsSecretNamespaces).",
      ),
    volumeClaimTemplate: volumeClaimTemplate.optional(),
    persistentVolumeClaimRetentionPolicy: z
      .strictObject({
        whenDeleted: z
          .enum(persistentVolumeClaimRetentionPolicies)
          .optional()
          .describe(
            "Retain (default) keeps the cache volumes after the mirror is deleted; Delete removes them.",
          ),
        whenScaled: z
          .enum(persistentVolumeClaimRetentionPolicies)
          .optional()
          .describe("Retain (default) keeps the volumes of removed replicas; Delete removes them."),
      })
      .optional()
      .describe(
        "What happens to the cache's volumes (the StatefulSet's persistentVolumeClaimRetentionPolicy); not with storage.s3.",
      ),
    priorityClass: objectName
      .optional()
      .describe("The PriorityClass of the cache pods (mirror-operator's priorityClass)."),
    // regmirror's
    mirrorOf: z
      .array(registryHost)
      .min(1, { error: "at least one host (or leave mirrorOf out)" })
      .max(maxListLength)
      .optional()
      .describe(
        "The registry hosts the mirror serves for: nodes send pulls for these to it. Default the upstream's host (all Docker Hub names for Docker Hub).",
      ),
    upstreamCaBundle: z
      .strictObject({
        configMapName: objectName.describe("A ConfigMap in the operator's namespace."),
        key: z
          .string()
          .min(1)
          .optional()
          .describe("The key holding the PEM bundle; default ca.crt."),
      })
      .optional()
      .describe("CA certificates the cache trusts for the upstream (a private registry's CA)."),
    tls: z
      .strictObject({
        secretName: objectName
          .optional()
          .describe(
            "A kubernetes.io/tls Secret you manage (its ca.crt, if any, is what nodes trust); without it the operator makes a CA and a serving certificate.",
          ),
        certificateDuration: duration
          .optional()
          .describe("Lifetime of the operator's serving certificate, like 90d (default)."),
        renewBefore: duration
          .optional()
          .describe(
            "Renew the serving certificate this long before it ends, like 30d (default); shorter than certificateDuration.",
          ),
        dnsNames: z
          .array(registryHost)
          .max(maxListLength)
          .optional()
          .describe(
            "More DNS names for the operator's serving certificate (a load balancer's or a node's name).",
          ),
        ipAddresses: z
          .array(ipAddress)
          .max(maxListLength)
          .optional()
          .describe("More IP addresses for the operator's serving certificate."),
        includeNodeAddresses: z
          .boolean()
          .optional()
          .describe(
            "NodePort only: also cover every node's name and addresses, so https://<node>:<nodePort> verifies; the certificate follows the nodes.",
          ),
      })
      .optional()
      .describe("The cache's TLS certificate."),
    replicas: z
      .number()
      .int()
      .min(1, { error: "at least 1" })
      .max(100)
      .optional()
      .describe("How many cache pods (default 1)."),
    storage: z
      .strictObject({ s3: s3Storage })
      .optional()
      .describe(
        "Where blobs are stored instead of a volume: an S3 bucket (the cache then runs as a Deployment).",
      ),
    blobTtl: duration
      .optional()
      .describe(
        "How long an unused blob stays cached, like 168h or 7d; the cache's default when left out.",
      ),
    maxSize: byteSize
      .optional()
      .describe(
        "The most the cache stores before it evicts the least recently used, like 500GiB; default 90% of the volume.",
      ),
    exposure: exposure.optional(),
    placement: z
      .strictObject({
        nodeSelector: nodeSelector
          .optional()
          .describe('Nodes the cache pods run on, like dtr.cache: "true" (MSR).'),
        tolerations: z
          .array(toleration)
          .max(maxListLength)
          .optional()
          .describe("Tolerations of the cache pods."),
      })
      .optional()
      .describe("Where the cache pods run."),
    nodeConfiguration: nodeConfiguration.optional(),
    clientAuth: clientAuth.optional(),
    warmAhead: z
      .strictObject({
        namespaces: z
          .array(objectName)
          .max(maxListLength)
          .optional()
          .describe(
            "Namespaces whose workloads are warmed; default every namespace but kube-system and the operator's.",
          ),
        concurrency: integerFrom(1, 16, "images at once")
          .optional()
          .describe("Images warmed at once; default 2."),
      })
      .optional()
      .describe(
        "Warm-ahead: when a Deployment, StatefulSet, DaemonSet, Job, CronJob or bare Pod is created or its images change, the operator asks the cache to prefetch those of its images this mirror serves (every platform), before the nodes pull them.",
      ),
    resources: resourceRequirements
      .optional()
      .describe(
        "Requests and limits of the cache container; default requests cpu 100m and memory 192Mi, limit memory 512Mi (it uses 80 to 130 MiB).",
      ),
  })
  .describe("The desired mirror.");

/**
 * UpstreamCredentialsShared: True when anyone who reaches the mirror can pull everything its
 * upstream credentials can (credentialsSecret with clientAuth.mode none, written explicitly).
 */
export const registryMirrorConditionTypes = [
  "Ready",
  "Progressing",
  "Degraded",
  "UpstreamCredentialsShared",
  "Claimed",
  "MasqueradeHostMapped",
] as const;

export const registryMirrorStatusSchema = z
  .strictObject({
    observedGeneration: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("The metadata.generation the status describes."),
    conditions: z
      .array(
        condition.extend({
          type: z
            .enum(registryMirrorConditionTypes)
            .describe(
              "Ready (serving, nodes configured), Progressing (rolling out or deleting), Degraded (the last reconcile failed or needs a person), UpstreamCredentialsShared (anyone who reaches the mirror pulls with its upstream credentials), Claimed (which operator installation owns the mirror), MasqueradeHostMapped (whether nodes resolve masqueradeUrl).",
            ),
        }),
      )
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
      })
      .describe("The mirror's conditions, one per type."),
    serviceAddress: z
      .string()
      .optional()
      .describe(
        "host:port a client should use, by exposure type: the ClusterIP, a node's address and the node port, the load balancer's address, or the ingress host.",
      ),
    nodePort: z
      .number()
      .int()
      .min(1)
      .max(65_535)
      .optional()
      .describe(
        "The node port with exposure NodePort: the mirror is at <any node address>:<nodePort>.",
      ),
    readyReplicas: z.number().int().nonnegative().optional().describe("Cache pods ready."),
    peers: z
      .array(
        z.strictObject({
          address: z.string().describe("The replica's URL as its peers reach it."),
          pod: z.string().optional().describe("The cache pod."),
          ready: z
            .boolean()
            .describe("Ready replicas are members: they own a share of the digests."),
        }),
      )
      .optional()
      .describe(
        "With replicas > 1: the cache replicas that share one upstream download per digest, from the client Service's EndpointSlices.",
      ),
    nodesConfigured: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("Nodes whose agent applied the current node configuration."),
    nodesTotal: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("Nodes the agent should configure; nodesConfigured / nodesTotal shows progress."),
  })
  .describe("What the operator observed.");

export type RegistryMirrorSpecInput = z.input<typeof registryMirrorSpecSchema>;
export type RegistryMirrorSpecFields = z.output<typeof registryMirrorSpecSchema>;
export type RegistryMirrorStatus = z.output<typeof registryMirrorStatusSchema>;
export type RegistryMirrorCondition = z.output<typeof condition>;
