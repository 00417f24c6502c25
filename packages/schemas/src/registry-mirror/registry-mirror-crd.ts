import { z } from "zod";
import { byteSize, duration } from "../cache-config/field-schemas.js";
import { registryMirrorApi, registryMirrorDefaults } from "./registry-mirror-defaults.js";
import {
  registryMirrorSpecSchema,
  registryMirrorStatusSchema,
  upstreamUrl,
} from "./registry-mirror-spec-schema.js";
import { type JsonSchema, toStructuralSchema } from "./structural-schema.js";

// The CustomResourceDefinition of RegistryMirror, generated from the zod schemas so the API
// server rejects what parseRegistryMirrorSpec would reject, with the field's path in the message.
// Checks zod does with transforms (durations, sizes, the upstream URL) become patterns here;
// cross-field rules become CEL validations.

/** The longest mirror name: object names derived from it ("regmirror-NAME-node-agent"...) stay valid. */
export const maxRegistryMirrorNameLength = 40;

const durationPattern = "^(0|((\\d+(\\.\\d*)?|\\.\\d+)(ns|us|µs|μs|ms|s|m|h|d))+)$";
const byteSizePattern = "^\\d+(\\.\\d+)?\\s*(B|kB|KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|PiB)?$";
// Scheme optional (mirror-operator wrote bare hosts), host, optional port, no path or user.
const upstreamUrlPattern =
  "^(https?://)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*(:[0-9]{1,5})?/?$";

/** JSON Schemas for the fields zod checks with a transform, which toJSONSchema cannot see into. */
const transformedFields = new Map<unknown, JsonSchema>([
  [duration, { type: "string", pattern: durationPattern }],
  [
    byteSize,
    {
      "x-kubernetes-int-or-string": true,
      anyOf: [{ type: "integer" }, { type: "string" }],
      pattern: byteSizePattern,
    },
  ],
  [upstreamUrl, { type: "string", pattern: upstreamUrlPattern }],
]);

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, {
    io: "input",
    reused: "inline",
    unrepresentable: "any",
    override(context) {
      const replacement = transformedFields.get(context.zodSchema);
      if (!replacement) return;
      for (const key of Object.keys(context.jsonSchema)) delete context.jsonSchema[key];
      Object.assign(context.jsonSchema, structuredClone(replacement));
    },
  }) as JsonSchema;
}

type Validation = { rule: string; message: string; fieldPath?: string };

function addValidations(schema: JsonSchema, path: string[], validations: Validation[]): void {
  let node = schema;
  for (const name of path)
    node = (node.properties as Record<string, JsonSchema>)[name] as JsonSchema;
  node["x-kubernetes-validations"] = validations;
}

function specSchema(): JsonSchema {
  const spec = toStructuralSchema(jsonSchemaOf(registryMirrorSpecSchema), "spec");
  const properties = spec.properties as Record<string, JsonSchema>;
  (properties.replicas as JsonSchema).default = registryMirrorDefaults.replicas;
  addValidations(
    spec,
    [],
    [
      {
        rule: "!(has(self.storage) && has(self.volumeClaimTemplate))",
        message:
          "volumeClaimTemplate cannot be used with storage.s3 (the cache stores in the bucket)",
        fieldPath: ".volumeClaimTemplate",
      },
      {
        rule: "!has(self.tls) || !has(self.tls.secretName) || (!has(self.tls.certificateDuration) && !has(self.tls.renewBefore))",
        message:
          "tls.certificateDuration and tls.renewBefore are for the operator's CA, not with tls.secretName",
        fieldPath: ".tls",
      },
    ],
  );
  addValidations(
    spec,
    ["exposure"],
    [
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
    ],
  );
  addValidations(
    spec,
    ["clientAuth"],
    [
      {
        rule: "has(self.htpasswdSecret) == (self.mode == 'htpasswd')",
        message: "htpasswdSecret is required with mode htpasswd and allowed only with it",
        fieldPath: ".htpasswdSecret",
      },
    ],
  );
  return spec;
}

/** The CRD object, ready to serialise to YAML or to apply. */
export function registryMirrorCustomResourceDefinition(): JsonSchema {
  const { group, version, kind, plural, singular, shortNames, scope } = registryMirrorApi;
  const status = toStructuralSchema(jsonSchemaOf(registryMirrorStatusSchema), "status");
  const conditions = (status.properties as Record<string, JsonSchema>).conditions as JsonSchema;
  // One condition per type, merged by type under server-side apply.
  conditions["x-kubernetes-list-type"] = "map";
  conditions["x-kubernetes-list-map-keys"] = ["type"];
  const namePattern = `^[a-z]([-a-z0-9]*[a-z0-9])?$`;
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
            {
              name: "Ready",
              type: "string",
              jsonPath: '.status.conditions[?(@.type=="Ready")].status',
            },
            { name: "Address", type: "string", jsonPath: ".status.serviceAddress", priority: 1 },
            { name: "Replicas", type: "integer", jsonPath: ".status.readyReplicas", priority: 1 },
            { name: "Nodes", type: "integer", jsonPath: ".status.nodesConfigured", priority: 1 },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description:
                "A pull-through registry cache run by regmirror-operator, and the node configuration that makes nodes use it.",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
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
