// Names and labels of the objects the operator makes for one RegistryMirror. Mirror names are
// DNS labels of at most 40 characters (the CRD enforces it), so every derived name stays valid.

export const fieldManager = "regmirror-operator";
export const finalizerName = "regmirror.dev/node-cleanup";
export const managedByLabel = "app.kubernetes.io/managed-by";
export const managedByValue = "regmirror-operator";
export const mirrorLabel = "regmirror.dev/mirror";
export const componentLabel = "app.kubernetes.io/component";
/** mirror-operator's labels, so its documented `kubectl get ds,sts,svc -l mirror=NAME` works. */
export const mirrorOperatorMirrorLabel = "mirror";
export const mirrorOperatorAppLabel = "app";

export interface MirrorObjectNames {
  /** StatefulSet / Deployment and the client Service. */
  cache: string;
  headlessService: string;
  cacheConfig: string;
  tlsSecret: string;
  caSecret: string;
  upstreamAuthSecret: string;
  ingress: string;
  nodeAgent: string;
  nodeState: string;
  /** The cache's admin credential (warm-ahead calls its admin API). */
  adminSecret: string;
  /** The MutatingWebhookConfiguration (cluster scoped) in webhook mode. */
  webhookConfiguration: string;
  /** With replicas > 1: the cache pods' ServiceAccount, its Role and RoleBinding. */
  cacheServiceAccount: string;
  /** With replicas > 1: the secret the cache replicas sign their requests to each other with. */
  peerSecret: string;
}

export function mirrorObjectNames(mirrorName: string): MirrorObjectNames {
  const base = `regmirror-${mirrorName}`;
  return {
    cache: base,
    headlessService: `${base}-headless`,
    cacheConfig: `${base}-config`,
    tlsSecret: `${base}-tls`,
    caSecret: `${base}-ca`,
    upstreamAuthSecret: `${base}-upstream-auth`,
    ingress: base,
    nodeAgent: `${base}-node-agent`,
    nodeState: `${base}-node-state`,
    adminSecret: `${base}-admin`,
    webhookConfiguration: base,
    cacheServiceAccount: `${base}-cache`,
    peerSecret: `${base}-peers`,
  };
}

export function mirrorLabels(mirrorName: string, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "regmirror",
    "app.kubernetes.io/instance": mirrorName,
    [componentLabel]: component,
    [managedByLabel]: managedByValue,
    [mirrorLabel]: mirrorName,
    [mirrorOperatorMirrorLabel]: mirrorName,
    [mirrorOperatorAppLabel]: "docker-registry",
  };
}

/** The labels pods are selected by (immutable in a StatefulSet / DaemonSet selector). */
export function selectorLabels(mirrorName: string, component: string): Record<string, string> {
  return { [mirrorLabel]: mirrorName, [componentLabel]: component };
}

/** The DNS names a client inside the cluster may use for the cache Service. */
export function serviceDnsNames(serviceName: string, namespace: string): string[] {
  return [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    `${serviceName}.${namespace}.svc.cluster.local`,
  ];
}

/** The port clients and nodes use (https default); the cache listens on cachePort. */
export const servicePort = 443;
export const cachePort = 5000;
export const nodeAgentPort = 9464;

/** The operator's webhook serving certificate and its CA, in the operator's namespace. */
export const webhookCertificateSecretName = "regmirror-operator-webhook-tls";
