// RegistryMirrorSpec: the spec with every default applied, as the operator reconciles it.
import type { ContainerResources } from "./container-resources.js";
import type { NodeConfigurationMode } from "./registry-mirror-defaults.js";

export type VolumeClaimRetention = "Retain" | "Delete";

/**
 * The cache's PersistentVolumeClaim template with the defaults applied: access modes and a
 * storage request are always there; other claim fields pass through for Kubernetes to check.
 */
export interface VolumeClaimTemplate {
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly spec: Readonly<Record<string, unknown>> & {
    readonly accessModes: readonly string[];
    readonly resources: Readonly<Record<string, unknown>> & {
      readonly requests: Readonly<Record<string, unknown>> & { readonly storage: string | number };
    };
  };
}

/** A RegistryMirror's spec with every default applied: what the operator reconciles. */
export interface RegistryMirrorSpec {
  /** The upstream registry's origin, e.g. https://registry-1.docker.io. */
  readonly upstreamUrl: string;
  /** The host name nodes use for the mirror in hosts-file mode (mirror-operator's masqueradeUrl). */
  readonly masqueradeHost: string;
  /** The spec set masqueradeUrl (rather than the mirror-<upstream> default). */
  readonly masqueradeHostGiven: boolean;
  /** Registry hosts the mirror serves for; nodes send pulls for these hosts to it. */
  readonly mirrorOf: readonly string[];
  /** A Secret with `username` and `password` for the upstream; namespace null: the operator's. */
  readonly credentialsSecret: { readonly name: string; readonly namespace: string | null } | null;
  readonly upstreamCaBundle: { readonly configMapName: string; readonly key: string } | null;
  readonly tls:
    | { readonly mode: "secret"; readonly secretName: string }
    | {
        readonly mode: "operator-ca";
        readonly certificateDurationMs: number;
        readonly renewBeforeMs: number;
        /** More names and addresses for the serving certificate. */
        readonly dnsNames: readonly string[];
        readonly ipAddresses: readonly string[];
        /** NodePort: cover every node's name and addresses too. */
        readonly includeNodeAddresses: boolean;
      };
  readonly replicas: number;
  readonly storage:
    | {
        readonly kind: "pvc";
        readonly volumeClaimTemplate: VolumeClaimTemplate;
        readonly retention: {
          readonly whenDeleted: VolumeClaimRetention;
          readonly whenScaled: VolumeClaimRetention;
        };
      }
    | {
        readonly kind: "s3";
        readonly bucket: string;
        readonly region: string | null;
        readonly endpoint: string | null;
        readonly forcePathStyle: boolean;
        readonly prefix: string;
        readonly credentials:
          | { readonly mode: "static"; readonly secretName: string }
          | { readonly mode: "env" }
          | { readonly mode: "web-identity"; readonly roleArn: string | null };
      };
  /** null: the cache's default. */
  readonly blobTtlMs: number | null;
  /** null: derived from the volume size (PVC) or no cap (S3). */
  readonly maxSizeBytes: number | null;
  readonly exposure:
    | { readonly type: "ClusterIP" }
    | { readonly type: "NodePort"; readonly nodePort: number | null }
    | {
        readonly type: "LoadBalancer";
        readonly className: string | null;
        readonly annotations: Readonly<Record<string, string>>;
        readonly sourceRanges: readonly string[];
      }
    | {
        readonly type: "Ingress";
        readonly host: string;
        readonly className: string | null;
        readonly annotations: Readonly<Record<string, string>>;
      };
  readonly placement: {
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly tolerations: readonly Readonly<Record<string, unknown>>[];
    readonly priorityClassName: string | null;
  };
  /** Who may pull through the mirror (spec.clientAuth, defaulted). */
  readonly clientAuth:
    | { readonly mode: "none" }
    | { readonly mode: "pass-through" }
    | { readonly mode: "htpasswd"; readonly htpasswdSecret: string };
  /** The cache container's requests and limits. */
  readonly resources: ContainerResources;
  readonly nodeConfiguration: {
    readonly modes: readonly NodeConfigurationMode[];
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly tolerations: readonly Readonly<Record<string, unknown>>[];
    /** The node agent container's requests and limits. */
    readonly resources: ContainerResources;
    readonly containerd: { readonly certsDirectory: string; readonly dialTimeoutMs: number };
    /** null: the operator's defaults (--imageswap-configmap, --imageswap-namespace). */
    readonly imageswap: {
      readonly configMapName: string | null;
      readonly namespace: string | null;
    };
    /** Which pods the admission webhook rewrites (used when modes has webhook). */
    readonly webhook: {
      readonly namespaceSelector: LabelSelector;
      readonly objectSelector: LabelSelector;
      /** Besides kube-system and the operator's namespace, which are always excluded. */
      readonly excludeNamespaces: readonly string[];
      readonly timeoutSeconds: number;
    };
  };
  /** null: no warm-ahead. */
  readonly warmAhead: {
    /** Empty: every namespace but kube-system and the operator's. */
    readonly namespaces: readonly string[];
    readonly concurrency: number;
  } | null;
}

/** A Kubernetes label selector, as the spec gives it. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    readonly values?: readonly string[];
  }[];
}
