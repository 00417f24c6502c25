// A RegistryMirror's spec and status parsed, defaulted and checked, or every problem with them.
import { brandedError } from "@regmirror/core";
import { z } from "zod";
import { type ConfigProblem, formatConfigProblems } from "../cache-config/config-problem.js";
import {
  dockerHubAliases,
  dockerHubEndpoint,
  dockerHubHosts,
  isDockerHubHost,
} from "../cache-config/docker-hub.js";
import { createProblemCollector } from "../cache-config/problem-collector.js";
import {
  expectationErrorMap,
  zodIssuesToProblems,
} from "../cache-config/zod-issues-to-problems.js";
import { registryMirrorDefaults } from "./registry-mirror-defaults.js";
import type { RegistryMirrorSpec } from "./registry-mirror-spec.js";
import {
  type RegistryMirrorSpecFields,
  type RegistryMirrorStatus,
  registryMirrorSpecSchema,
  registryMirrorStatusSchema,
} from "./registry-mirror-spec-schema.js";

/** A RegistryMirror spec or status that cannot be used; problems name field, value, expectation. */
export class RegistryMirrorInvalidError extends brandedError<"REGMIRROR_MIRROR_INVALID">(
  "@regmirror/schemas.RegistryMirrorInvalidError",
) {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      "REGMIRROR_MIRROR_INVALID",
      `the RegistryMirror is invalid:\n${formatConfigProblems(problems)}`,
    );
    this.problems = problems;
  }
}

/** Validates `spec` and applies the defaults. Paths in problems start with `spec`. */
export function parseRegistryMirrorSpec(rawSpec: unknown): RegistryMirrorSpec {
  const schema = z.strictObject({ spec: registryMirrorSpecSchema });
  const document = { spec: rawSpec };
  const parsed = schema.safeParse(document, { error: expectationErrorMap });
  if (!parsed.success) {
    throw new RegistryMirrorInvalidError(
      zodIssuesToProblems(parsed.error.issues, document, schema),
    );
  }
  const problems = createProblemCollector(document);
  const spec = parsed.data.spec;
  const result = applyDefaults(spec, (path, expected) => problems.add(["spec", ...path], expected));
  if (problems.problems.length > 0) throw new RegistryMirrorInvalidError(problems.problems);
  return result;
}

/** Validates a status before the operator writes it. Paths in problems start with `status`. */
export function parseRegistryMirrorStatus(rawStatus: unknown): RegistryMirrorStatus {
  const schema = z.strictObject({ status: registryMirrorStatusSchema });
  const document = { status: rawStatus };
  const parsed = schema.safeParse(document, { error: expectationErrorMap });
  if (!parsed.success) {
    throw new RegistryMirrorInvalidError(
      zodIssuesToProblems(parsed.error.issues, document, schema),
    );
  }
  return parsed.data.status;
}

type Report = (path: readonly PropertyKey[], expected: string) => void;

/** hub.docker.io (mirror-operator's example) and friends are Docker Hub. */
function isDockerHubName(host: string): boolean {
  return isDockerHubHost(host) || (dockerHubAliases as readonly string[]).includes(host);
}

function applyDefaults(spec: RegistryMirrorSpecFields, report: Report): RegistryMirrorSpec {
  const upstreamHost = new URL(spec.upstreamUrl).host;
  const dockerHub = isDockerHubName(upstreamHost);
  const mirrorOf = spec.mirrorOf ?? (dockerHub ? [...dockerHubHosts] : [upstreamHost]);
  for (const [index, host] of mirrorOf.entries()) {
    if (mirrorOf.indexOf(host) !== index) report(["mirrorOf", index], "each host once");
  }
  if (spec.credentialsSecretNamespace !== undefined && spec.credentialsSecret === undefined) {
    report(
      ["credentialsSecretNamespace"],
      "no credentialsSecretNamespace without credentialsSecret",
    );
  }
  if (spec.maxSize !== undefined && spec.maxSize <= 0) {
    report(["maxSize"], "a size above 0 like 500GiB");
  }
  return {
    // Docker Hub's registry API answers at one name only, whatever name the spec used.
    upstreamUrl: dockerHub ? dockerHubEndpoint : spec.upstreamUrl,
    masqueradeHost:
      spec.masqueradeUrl ?? `${registryMirrorDefaults.masqueradePrefix}${upstreamHost}`,
    masqueradeHostGiven: spec.masqueradeUrl !== undefined,
    mirrorOf,
    credentialsSecret:
      spec.credentialsSecret === undefined
        ? null
        : { name: spec.credentialsSecret, namespace: spec.credentialsSecretNamespace ?? null },
    upstreamCaBundle: spec.upstreamCaBundle
      ? {
          configMapName: spec.upstreamCaBundle.configMapName,
          key: spec.upstreamCaBundle.key ?? registryMirrorDefaults.upstreamCaKey,
        }
      : null,
    tls: tlsOf(spec, report),
    replicas: spec.replicas ?? registryMirrorDefaults.replicas,
    storage: storageOf(spec, report),
    blobTtlMs: spec.blobTtl ?? null,
    maxSizeBytes: spec.maxSize ?? null,
    exposure: exposureOf(spec.exposure, report),
    placement: {
      nodeSelector: spec.placement?.nodeSelector ?? {},
      tolerations: spec.placement?.tolerations ?? [],
      priorityClassName: spec.priorityClass ?? null,
    },
    clientAuth: clientAuthOf(spec, report),
    nodeConfiguration: nodeConfigurationOf(spec, report),
    resources: spec.resources ?? registryMirrorDefaults.cacheResources,
    warmAhead: spec.warmAhead
      ? {
          namespaces: spec.warmAhead.namespaces ?? [],
          concurrency: spec.warmAhead.concurrency ?? registryMirrorDefaults.warmAheadConcurrency,
        }
      : null,
  };
}

/** Defaults to pass-through when the mirror has upstream credentials: they stay the mirror's. */
function clientAuthOf(
  spec: RegistryMirrorSpecFields,
  report: Report,
): RegistryMirrorSpec["clientAuth"] {
  const given = spec.clientAuth;
  if (given === undefined) {
    return { mode: spec.credentialsSecret === undefined ? "none" : "pass-through" };
  }
  if (given.mode !== "htpasswd") {
    if (given.htpasswdSecret !== undefined) {
      report(["clientAuth", "htpasswdSecret"], `no htpasswdSecret with mode ${given.mode}`);
    }
    return { mode: given.mode };
  }
  if (given.htpasswdSecret === undefined) {
    report(["clientAuth", "htpasswdSecret"], "the name of a Secret with an htpasswd key");
  }
  return { mode: "htpasswd", htpasswdSecret: given.htpasswdSecret ?? "" };
}

function tlsOf(spec: RegistryMirrorSpecFields, report: Report): RegistryMirrorSpec["tls"] {
  const tls = spec.tls;
  if (tls?.secretName !== undefined) {
    for (const key of [
      "certificateDuration",
      "renewBefore",
      "dnsNames",
      "ipAddresses",
      "includeNodeAddresses",
    ] as const) {
      if (tls[key] !== undefined)
        report(["tls", key], `no ${key} with secretName: you issue your own certificate`);
    }
    return { mode: "secret", secretName: tls.secretName };
  }
  const certificateDurationMs =
    tls?.certificateDuration ?? registryMirrorDefaults.certificateDurationMs;
  const renewBeforeMs = tls?.renewBefore ?? registryMirrorDefaults.renewBeforeMs;
  if (renewBeforeMs >= certificateDurationMs) {
    report(
      ["tls", tls?.renewBefore !== undefined ? "renewBefore" : "certificateDuration"],
      "renewBefore shorter than certificateDuration",
    );
  }
  const includeNodeAddresses = tls?.includeNodeAddresses ?? false;
  if (includeNodeAddresses && spec.exposure?.type !== "NodePort") {
    report(
      ["tls", "includeNodeAddresses"],
      "includeNodeAddresses only with exposure.type NodePort",
    );
  }
  return {
    mode: "operator-ca",
    certificateDurationMs,
    renewBeforeMs,
    dnsNames: tls?.dnsNames ?? [],
    ipAddresses: tls?.ipAddresses ?? [],
    includeNodeAddresses,
  };
}

function storageOf(spec: RegistryMirrorSpecFields, report: Report): RegistryMirrorSpec["storage"] {
  const s3 = spec.storage?.s3;
  if (s3 === undefined) {
    const template = spec.volumeClaimTemplate ?? {};
    const claimSpec = template.spec ?? {};
    const retention = spec.persistentVolumeClaimRetentionPolicy;
    return {
      kind: "pvc",
      retention: {
        whenDeleted: retention?.whenDeleted ?? registryMirrorDefaults.volumeClaimRetention,
        whenScaled: retention?.whenScaled ?? registryMirrorDefaults.volumeClaimRetention,
      },
      volumeClaimTemplate: {
        ...template,
        spec: {
          ...claimSpec,
          accessModes: claimSpec.accessModes ?? [...registryMirrorDefaults.volumeAccessModes],
          resources: {
            ...claimSpec.resources,
            requests: {
              ...claimSpec.resources?.requests,
              storage:
                claimSpec.resources?.requests?.storage ?? registryMirrorDefaults.volumeStorage,
            },
          },
        },
      },
    };
  }
  if (spec.volumeClaimTemplate !== undefined) {
    report(
      ["volumeClaimTemplate"],
      "no volume claim template with storage.s3 (the cache stores in the bucket)",
    );
  }
  if (spec.persistentVolumeClaimRetentionPolicy !== undefined) {
    report(
      ["persistentVolumeClaimRetentionPolicy"],
      "no volume retention policy with storage.s3 (there are no volumes)",
    );
  }
  const given = s3.credentials ?? { mode: "env" as const };
  const path = ["storage", "s3", "credentials"];
  if (given.secretName !== undefined && given.mode !== "static")
    report([...path, "secretName"], `no secretName with mode ${given.mode}`);
  if (given.roleArn !== undefined && given.mode !== "web-identity")
    report([...path, "roleArn"], `no roleArn with mode ${given.mode}`);
  let credentials: Extract<RegistryMirrorSpec["storage"], { kind: "s3" }>["credentials"] = {
    mode: "env",
  };
  if (given.mode === "static") {
    if (given.secretName === undefined)
      report([...path, "secretName"], "a Secret name for mode static");
    credentials = { mode: "static", secretName: given.secretName ?? "" };
  } else if (given.mode === "web-identity") {
    credentials = { mode: "web-identity", roleArn: given.roleArn ?? null };
  }
  return {
    kind: "s3",
    bucket: s3.bucket,
    region: s3.region ?? null,
    endpoint: s3.endpoint ?? null,
    forcePathStyle: s3.forcePathStyle ?? false,
    prefix: (s3.prefix ?? "").replace(/^\/+|\/+$/g, ""),
    credentials,
  };
}

function exposureOf(
  exposure: RegistryMirrorSpecFields["exposure"],
  report: Report,
): RegistryMirrorSpec["exposure"] {
  if (exposure === undefined) return { type: "ClusterIP" };
  if (exposure.nodePort !== undefined && exposure.type !== "NodePort") {
    report(["exposure", "nodePort"], "no nodePort unless type is NodePort");
  }
  if (exposure.ingress !== undefined && exposure.type !== "Ingress") {
    report(["exposure", "ingress"], "no ingress unless type is Ingress");
  }
  if (exposure.loadBalancer !== undefined && exposure.type !== "LoadBalancer") {
    report(["exposure", "loadBalancer"], "no loadBalancer unless type is LoadBalancer");
  }
  switch (exposure.type) {
    case "ClusterIP":
      return { type: "ClusterIP" };
    case "NodePort":
      return { type: "NodePort", nodePort: exposure.nodePort ?? null };
    case "LoadBalancer":
      return {
        type: "LoadBalancer",
        className: exposure.loadBalancer?.className ?? null,
        annotations: exposure.loadBalancer?.annotations ?? {},
        sourceRanges: exposure.loadBalancer?.sourceRanges ?? [],
      };
    case "Ingress":
      if (exposure.ingress === undefined)
        report(["exposure", "ingress"], "ingress.host for type Ingress");
      return {
        type: "Ingress",
        host: exposure.ingress?.host ?? "",
        className: exposure.ingress?.className ?? null,
        annotations: exposure.ingress?.annotations ?? {},
      };
  }
}

function nodeConfigurationOf(
  spec: RegistryMirrorSpecFields,
  report: Report,
): RegistryMirrorSpec["nodeConfiguration"] {
  const given = spec.nodeConfiguration;
  // mirror-operator made nodes resolve masqueradeUrl to the mirror ("hostess"); so do we, unless
  // the spec lists the modes itself.
  const defaultModes =
    spec.masqueradeUrl !== undefined
      ? registryMirrorDefaults.nodeConfigurationModesWithMasquerade
      : registryMirrorDefaults.nodeConfigurationModes;
  const modes = given?.modes ?? [...defaultModes];
  for (const [index, mode] of modes.entries()) {
    if (modes.indexOf(mode) !== index)
      report(["nodeConfiguration", "modes", index], "each mode once");
  }
  if (given?.imageswap !== undefined && !modes.includes("imageswap")) {
    report(["nodeConfiguration", "imageswap"], "no imageswap settings unless modes has imageswap");
  }
  if (given?.webhook !== undefined && !modes.includes("webhook")) {
    report(["nodeConfiguration", "webhook"], "no webhook settings unless modes has webhook");
  }
  return {
    modes,
    nodeSelector: given?.nodeSelector ?? {},
    tolerations: given?.tolerations ?? registryMirrorDefaults.nodeAgentTolerations,
    resources: given?.resources ?? registryMirrorDefaults.nodeAgentResources,
    containerd: {
      certsDirectory:
        given?.containerd?.certsDirectory ?? registryMirrorDefaults.containerdCertsDirectory,
      dialTimeoutMs:
        given?.containerd?.dialTimeout ?? registryMirrorDefaults.containerdDialTimeoutMs,
    },
    imageswap: {
      configMapName: given?.imageswap?.configMapName ?? null,
      namespace: given?.imageswap?.namespace ?? null,
    },
    webhook: {
      namespaceSelector: given?.webhook?.namespaceSelector ?? {},
      objectSelector: given?.webhook?.objectSelector ?? {},
      excludeNamespaces: given?.webhook?.excludeNamespaces ?? [],
      timeoutSeconds:
        given?.webhook?.timeoutSeconds ?? registryMirrorDefaults.webhookTimeoutSeconds,
    },
  };
}
