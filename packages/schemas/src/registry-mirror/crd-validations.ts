// CEL rules of the RegistryMirror CRD, with messages for people (ADR 0022).
import { registryMirrorDefaults } from "./registry-mirror-defaults.js";

// The CEL rules of the RegistryMirror CRD that span fields, with messages written for the
// person who wrote the manifest: what is wrong and what to do. The same rules are in
// parseRegistryMirrorSpec; these make the API server refuse the spec before the operator sees it.

export interface CelValidation {
  rule: string;
  message: string;
  fieldPath?: string;
}

const hours = (milliseconds: number) => `${milliseconds / 3_600_000}h`;

/** The forms of a duration CEL can read: Go units, with whole days in front ("30d", "1d12h"). */
const comparableDuration = "^(0|([0-9]+d)?([0-9]+(\\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))*)$";

/**
 * The whole seconds of the duration text `text` (a CEL expression). CEL's duration() reads Go
 * units only, so leading days are counted apart: "90d" -> 7776000, "1d12h" -> 129600. (No
 * string is built from a number: the API server could not bound the rule's cost.)
 */
function celSeconds(text: string): string {
  const rest = `${text}.substring(${text}.indexOf('d') + 1)`;
  const days = `int(${text}.substring(0, ${text}.indexOf('d'))) * 86400`;
  return `(${text}.matches(r'^[0-9]+d') ? ${days} + (${rest} == '' ? 0 : duration(${rest}).getSeconds()) : duration(${text}).getSeconds())`;
}

/** `x.a.b.c` if every step is set, else `fallback` (CEL has() chains, no optional syntax). */
function fieldOr(root: string, path: readonly string[], fallback: string): string {
  const steps = path.map((_, index) => `has(${[root, ...path.slice(0, index + 1)].join(".")})`);
  return `(${steps.join(" && ")} ? ${[root, ...path].join(".")} : ${fallback})`;
}

/**
 * The volume a spec makes, as far as the StatefulSet's claim template goes: an added or removed
 * volumeClaimTemplate changes nothing when it only says what the defaults say (mirror-operator's
 * README sets 20Gi explicitly).
 */
function sameVolume(a: string, b: string): string {
  const template = "volumeClaimTemplate";
  const facts: [string[], string][] = [
    [
      [template, "spec", "resources", "requests", "storage"],
      `'${registryMirrorDefaults.volumeStorage}'`,
    ],
    [[template, "spec", "storageClassName"], "''"],
    [
      [template, "spec", "accessModes"],
      `['${registryMirrorDefaults.volumeAccessModes.join("', '")}']`,
    ],
  ];
  const equal = facts.map(
    ([path, fallback]) => `${fieldOr(a, path, fallback)} == ${fieldOr(b, path, fallback)}`,
  );
  const noMetadata = [a, b].map(
    (root) => `!(has(${root}.${template}) && has(${root}.${template}.metadata))`,
  );
  return `(has(${a}.${template}) && has(${b}.${template}) ? ${a}.${template} == ${b}.${template} : ${[...equal, ...noMetadata].join(" && ")})`;
}

const renewBefore = `(has(self.renewBefore) ? self.renewBefore : '${hours(registryMirrorDefaults.renewBeforeMs)}')`;
const certificateDuration = `(has(self.certificateDuration) ? self.certificateDuration : '${hours(registryMirrorDefaults.certificateDurationMs)}')`;

/** Where each rule sits in the spec schema (path of property names) and the rules. */
export const crdValidations: readonly { path: readonly string[]; validations: CelValidation[] }[] =
  [
    {
      path: [],
      validations: [
        {
          rule: "!(has(self.storage) && has(self.volumeClaimTemplate))",
          message:
            "volumeClaimTemplate cannot be used with storage.s3 (the cache stores in the bucket)",
          fieldPath: ".volumeClaimTemplate",
        },
        {
          rule: "!(has(self.storage) && has(self.persistentVolumeClaimRetentionPolicy))",
          message:
            "persistentVolumeClaimRetentionPolicy cannot be used with storage.s3 (there are no volumes)",
          fieldPath: ".persistentVolumeClaimRetentionPolicy",
        },
        {
          rule: "!has(self.credentialsSecretNamespace) || has(self.credentialsSecret)",
          message: "credentialsSecretNamespace is the namespace of credentialsSecret: set both",
          fieldPath: ".credentialsSecretNamespace",
        },
        {
          rule: "!has(self.tls) || !has(self.tls.includeNodeAddresses) || !self.tls.includeNodeAddresses || (has(self.exposure) && self.exposure.type == 'NodePort')",
          message:
            "tls.includeNodeAddresses is for exposure.type NodePort (clients then dial https://<node>:<nodePort>)",
          fieldPath: ".tls.includeNodeAddresses",
        },
        {
          // A StatefulSet's volume claim templates cannot change, so neither can this: refused
          // here rather than failing later in the operator (ADR 0022). Moving to or from S3
          // replaces the workload, so storage changes may add or drop the template.
          rule: `has(self.storage) || has(oldSelf.storage) || ${sameVolume("self", "oldSelf")}`,
          message:
            "volumeClaimTemplate cannot change once the mirror exists (a StatefulSet's volume claims are fixed): put it back as it was, or delete the RegistryMirror and create it again with the new template (the cache then refills from upstream)",
          fieldPath: ".volumeClaimTemplate",
        },
      ],
    },
    {
      path: ["tls"],
      validations: [
        {
          rule: "!has(self.secretName) || !(has(self.certificateDuration) || has(self.renewBefore) || has(self.dnsNames) || has(self.ipAddresses) || has(self.includeNodeAddresses))",
          message:
            "tls.certificateDuration, renewBefore, dnsNames, ipAddresses and includeNodeAddresses are for the operator's certificate, not with tls.secretName (you issue your own)",
        },
        {
          // Forms CEL cannot read (days after other units, fractions of days) are left to the
          // operator, which reports them in the Degraded condition.
          rule: `has(self.secretName) || !(${renewBefore}.matches(r'${comparableDuration}') && ${certificateDuration}.matches(r'${comparableDuration}')) || ${celSeconds(renewBefore)} < ${celSeconds(certificateDuration)}`,
          message: `renewBefore (default ${hours(registryMirrorDefaults.renewBeforeMs)}) must be shorter than certificateDuration (default ${hours(registryMirrorDefaults.certificateDurationMs)}): the certificate would be due for renewal as soon as it is issued`,
          fieldPath: ".renewBefore",
        },
      ],
    },
    {
      path: ["clientAuth"],
      validations: [
        {
          rule: "has(self.htpasswdSecret) == (self.mode == 'htpasswd')",
          message: "htpasswdSecret is required with mode htpasswd and allowed only with it",
          fieldPath: ".htpasswdSecret",
        },
      ],
    },
    {
      path: ["nodeConfiguration"],
      validations: [
        {
          rule: "!has(self.webhook) || (has(self.modes) && 'webhook' in self.modes)",
          message: "nodeConfiguration.webhook is only allowed when modes has webhook",
          fieldPath: ".webhook",
        },
      ],
    },
    {
      path: ["exposure"],
      validations: [
        {
          rule: "!has(self.nodePort) || self.type == 'NodePort'",
          message: "nodePort is only allowed with type NodePort",
          fieldPath: ".nodePort",
        },
        {
          rule: "has(self.ingress) == (self.type == 'Ingress')",
          message: "ingress (with its host) is required with type Ingress and allowed only with it",
          fieldPath: ".ingress",
        },
        {
          rule: "!has(self.loadBalancer) || self.type == 'LoadBalancer'",
          message: "loadBalancer is only allowed with type LoadBalancer",
          fieldPath: ".loadBalancer",
        },
      ],
    },
  ];
