// The RegistryMirror CustomResourceDefinition, generated from the zod schema (ADR 0012).
import { z } from "zod";
import { byteSize, duration, registryHost } from "../cache-config/field-schemas.js";
import { crdValidations } from "./crd-validations.js";
import {
  labelKey,
  labelKeyPattern,
  labelValue,
  nodeSelector,
  objectName,
  quantity,
} from "./kubernetes-schemas.js";
import { registryMirrorApi, registryMirrorDefaults } from "./registry-mirror-defaults.js";
import {
  absolutePath,
  ipAddress,
  registryMirrorSpecSchema,
  registryMirrorStatusSchema,
  upstreamUrl,
} from "./registry-mirror-spec-schema.js";
import { type JsonSchema, toStructuralSchema } from "./structural-schema.js";

// The CustomResourceDefinition of RegistryMirror, generated from the zod schemas so the API
// server rejects what parseRegistryMirrorSpec would reject, with messages written for people.
// Checks zod does with transforms (durations, sizes, the upstream URL, IP addresses) become CEL
// rules with a message here (a pattern would print itself as the error); cross-field rules and
// the one immutable field are CEL rules too (crd-validations.ts). Every field has a description.

/** The longest mirror name: object names derived from it ("regmirror-NAME-node-agent"...) stay valid. */
export const maxRegistryMirrorNameLength = 40;

/** The claim annotation: which operator installation reconciles the mirror (ADR 0021). */
export const ownerAnnotation = "regmirror.dev/owner";

/** The regular expressions the CRD checks transformed fields with (RE2 and JavaScript alike). */
export const crdPatterns = {
  duration: "^(0|((\\d+(\\.\\d*)?|\\.\\d+)(ns|us|µs|μs|ms|s|m|h|d))+)$",
  byteSize: "^\\d+(\\.\\d+)?\\s*(B|kB|KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|PiB)?$",
  // Scheme optional (mirror-operator wrote bare hosts), host, optional port, no path or user.
  upstreamUrl:
    "^(https?://)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*(:[0-9]{1,5})?/?$",
  quantity: "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$",
} as const;

/** A size or quantity written as zero ("0", "0GiB", "0.0Mi"): refused like a negative one. */
const zeroPattern = "^0+(\\.0+)?\\s*[A-Za-z]*$";

const intOrString = {
  "x-kubernetes-int-or-string": true,
  anyOf: [{ type: "integer" }, { type: "string" }],
};

/** JSON Schemas for the fields zod checks with a transform, which toJSONSchema cannot see into. */
const transformedFields = new Map<unknown, JsonSchema>([
  [
    duration._zod.def,
    {
      type: "string",
      maxLength: 64,
      "x-kubernetes-validations": [
        {
          rule: `self.matches(r'${crdPatterns.duration}')`,
          message: "must be a duration like 24h, 90m, 1h30m or 7d (or 0)",
        },
      ],
    },
  ],
  [
    byteSize._zod.def,
    {
      ...intOrString,
      maxLength: 64,
      "x-kubernetes-validations": [
        {
          rule: `type(self) == int ? self > 0 : self.matches(r'${crdPatterns.byteSize}') && !self.matches(r'${zeroPattern}')`,
          message: "must be a size above 0 like 500GiB, 512MiB or 10GB",
        },
      ],
    },
  ],
  [
    quantity._zod.def,
    {
      ...intOrString,
      maxLength: 64,
      "x-kubernetes-validations": [
        {
          rule: `type(self) == int ? self > 0 : self.matches(r'${crdPatterns.quantity}') && !self.matches(r'${zeroPattern}')`,
          message: "must be a Kubernetes quantity above 0 like 20Gi or 500Mi",
        },
      ],
    },
  ],
  [
    upstreamUrl._zod.def,
    {
      type: "string",
      maxLength: 2048,
      "x-kubernetes-validations": [
        {
          rule: `self.matches(r'${crdPatterns.upstreamUrl}')`,
          message:
            "must be a registry host or URL like hub.docker.io, quay.io:443 or https://registry.example.com (no path, no user:password@)",
        },
      ],
    },
  ],
  [
    ipAddress._zod.def,
    { type: "string", maxLength: 45, anyOf: [{ format: "ipv4" }, { format: "ipv6" }] },
  ],
]);

/** What a value checked by a pattern must be, said instead of the pattern itself. */
const patternMessages = new Map<unknown, string>([
  [
    objectName._zod.def,
    "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
  ],
  [
    registryHost._zod.def,
    "must be a registry host name like docker.io or registry.example.com:5000",
  ],
  [labelKey._zod.def, "must be a label key like dtr.cache or node-role.kubernetes.io/worker"],
  [
    labelValue._zod.def,
    "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
  ],
  [absolutePath._zod.def, "must be an absolute path like /etc/containerd/certs.d"],
]);

/** A pattern check becomes a CEL rule with a message (strings bounded, for the CEL cost). */
function withPatternMessage(json: JsonSchema, message: string): void {
  if (typeof json.pattern !== "string") return;
  json["x-kubernetes-validations"] = [{ rule: `self.matches(r'${json.pattern}')`, message }];
  json.maxLength ??= 253;
  delete json.pattern;
}

function jsonSchemaOf(schema: z.ZodType, options: { humanMessages: boolean }): JsonSchema {
  return z.toJSONSchema(schema, {
    io: "input",
    reused: "inline",
    unrepresentable: "any",
    override(context) {
      const definition = context.zodSchema._zod.def;
      const message = options.humanMessages ? patternMessages.get(definition) : undefined;
      if (message) withPatternMessage(context.jsonSchema, message);
      if (options.humanMessages && definition === nodeSelector._zod.def) {
        // The keys' pattern (propertyNames) has no place in a structural schema: a rule checks them.
        context.jsonSchema.maxProperties = 64;
        context.jsonSchema["x-kubernetes-validations"] = [
          {
            rule: `self.all(key, key.size() <= 253 && key.matches(r'${labelKeyPattern.source}'))`,
            message: "keys must be label keys like dtr.cache or node-role.kubernetes.io/worker",
          },
        ];
      }
      const replacement = transformedFields.get(definition);
      if (!replacement) return;
      const { description } = context.jsonSchema;
      for (const key of Object.keys(context.jsonSchema)) delete context.jsonSchema[key];
      Object.assign(context.jsonSchema, structuredClone(replacement));
      if (description !== undefined) context.jsonSchema.description = description;
    },
  }) as JsonSchema;
}

function node(schema: JsonSchema, path: readonly string[]): JsonSchema {
  let current = schema;
  for (const name of path) {
    current = (current.properties as Record<string, JsonSchema>)[name] as JsonSchema;
  }
  return current;
}

/** Lists whose entries are unique: the API server reports a duplicate by its index. */
const setLists = [
  ["mirrorOf"],
  ["tls", "dnsNames"],
  ["tls", "ipAddresses"],
  ["exposure", "loadBalancer", "sourceRanges"],
  ["nodeConfiguration", "modes"],
] as const;

function specSchema(): JsonSchema {
  const spec = toStructuralSchema(
    jsonSchemaOf(registryMirrorSpecSchema, { humanMessages: true }),
    "spec",
  );
  node(spec, ["replicas"]).default = registryMirrorDefaults.replicas;
  for (const path of setLists) node(spec, path)["x-kubernetes-list-type"] = "set";
  for (const { path, validations } of crdValidations) {
    const target = node(spec, path);
    target["x-kubernetes-validations"] = [
      ...((target["x-kubernetes-validations"] as unknown[] | undefined) ?? []),
      ...validations,
    ];
  }
  return spec;
}

/** The CRD object, ready to serialise to YAML or to apply. */
export function registryMirrorCustomResourceDefinition(): JsonSchema {
  const { group, version, kind, plural, singular, shortNames, scope } = registryMirrorApi;
  // The status is the operator's to write (checked by parseRegistryMirrorStatus first).
  const status = toStructuralSchema(
    jsonSchemaOf(registryMirrorStatusSchema, { humanMessages: false }),
    "status",
  );
  const conditions = node(status, ["conditions"]);
  // One condition per type, merged by type under server-side apply.
  conditions["x-kubernetes-list-type"] = "map";
  conditions["x-kubernetes-list-map-keys"] = ["type"];
  const namePattern = `^[a-z]([-a-z0-9]*[a-z0-9])?$`;
  const condition = (type: string, field: string) =>
    `.status.conditions[?(@.type=="${type}")].${field}`;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${plural}.${group}`,
      labels: { "app.kubernetes.io/name": "regmirror-operator" },
    },
    spec: {
      group,
      scope,
      names: { kind, listKind: `${kind}List`, plural, singular, shortNames: [...shortNames] },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Upstream", type: "string", jsonPath: ".spec.upstreamUrl" },
            { name: "Ready", type: "string", jsonPath: condition("Ready", "status") },
            // Why it is (not) ready: CachePodsNotReady, NodesNotConfigured, an error reason...
            { name: "Reason", type: "string", jsonPath: condition("Ready", "reason") },
            { name: "Address", type: "string", jsonPath: ".status.serviceAddress", priority: 1 },
            { name: "Replicas", type: "integer", jsonPath: ".status.readyReplicas", priority: 1 },
            { name: "Nodes", type: "integer", jsonPath: ".status.nodesConfigured", priority: 1 },
            {
              name: "Owner",
              type: "string",
              jsonPath: `.metadata.annotations.${ownerAnnotation.replaceAll(".", "\\.")}`,
              priority: 1,
            },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description:
                "A pull-through registry cache run by regmirror-operator, and the node configuration that makes nodes use it. `kubectl explain rm.spec` documents every field.",
              required: ["spec"],
              properties: {
                apiVersion: {
                  type: "string",
                  description:
                    "regmirror.dev/v1alpha1 (mirror-operator's manifests work with only this changed).",
                },
                kind: { type: "string", description: "RegistryMirror." },
                // The API server allows nothing but the type here (its own ObjectMeta applies).
                metadata: { type: "object" },
                spec: specSchema(),
                status,
              },
              "x-kubernetes-validations": [
                {
                  rule: `self.metadata.name.size() <= ${maxRegistryMirrorNameLength} && self.metadata.name.matches('${namePattern}')`,
                  message: `metadata.name must be a DNS label of at most ${maxRegistryMirrorNameLength} characters (lowercase letters, digits and '-'): the operator names the mirror's objects after it`,
                },
              ],
            },
          },
        },
      ],
    },
  };
}
