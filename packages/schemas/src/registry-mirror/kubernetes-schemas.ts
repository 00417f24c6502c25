// zod schemas of Kubernetes pieces a spec holds: names, labels, tolerations, claim templates.
import { z } from "zod";

// Small Kubernetes API types, validated the way the API server would, so a bad spec is reported
// with the field path before the operator creates anything. Every field carries a description:
// the generated CRD publishes them to `kubectl explain`.

const dnsSubdomainExpectation =
  "a Kubernetes object name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters";

/** The name of a Secret, ConfigMap, PriorityClass... (RFC 1123 subdomain). */
export const objectName = z
  .string({ error: dnsSubdomainExpectation })
  .max(253, { error: dnsSubdomainExpectation })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    error: dnsSubdomainExpectation,
  });

const labelKeyExpectation = "a label key like dtr.cache or node-role.kubernetes.io/worker";
const labelValueExpectation =
  "a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

/** prefix/name, as node-role.kubernetes.io/worker. */
export const labelKeyPattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export const labelKey = z
  .string({ error: labelKeyExpectation })
  .regex(labelKeyPattern, { error: labelKeyExpectation });

export const labelValue = z
  .string({ error: labelValueExpectation })
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, { error: labelValueExpectation });

export const nodeSelector = z.record(labelKey, labelValue, {
  error: 'a mapping of node label keys to values, like dtr.cache: "true"',
});

/** At most this many tolerations, hosts... in a list: bounds the API server's CEL cost. */
export const maxListLength = 32;

/** Expressions in a selector and values in an expression: bounds the API server's CEL cost. */
const maxSelectorLength = 16;

/** A label selector (matchLabels and matchExpressions), as in a Deployment or a webhook. */
export const labelSelector = z
  .strictObject({
    // The node selector's schema: the CRD then bounds it (and checks its keys) the same way.
    matchLabels: nodeSelector.optional().describe("Labels an object must have, with these values."),
    matchExpressions: z
      .array(
        z
          .strictObject({
            key: labelKey.describe("The label key."),
            operator: z
              .enum(["In", "NotIn", "Exists", "DoesNotExist"])
              .describe("In, NotIn, Exists or DoesNotExist."),
            values: z
              .array(labelValue)
              .max(maxSelectorLength)
              .optional()
              .describe("The values for In and NotIn; none for Exists and DoesNotExist."),
          })
          .describe("One requirement on a label."),
      )
      .max(maxSelectorLength)
      .optional()
      .describe("Requirements on labels, all of which must hold."),
  })
  .describe("A Kubernetes label selector; every part must match.");

export const toleration = z
  .strictObject({
    key: labelKey.optional().describe("The taint key the toleration applies to; empty means all."),
    operator: z
      .enum(["Exists", "Equal"])
      .optional()
      .describe("Exists (any value) or Equal (the value below); default Equal."),
    value: labelValue.optional().describe("The taint value to match with operator Equal."),
    effect: z
      .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
      .optional()
      .describe("The taint effect to match; empty means all effects."),
    tolerationSeconds: z
      .number()
      .int()
      .optional()
      .describe("With NoExecute: how long the pod stays bound after the taint appears."),
  })
  .describe("A Kubernetes toleration, as in a pod spec.");

const quantityExpectation = "a Kubernetes quantity above 0 like 20Gi, 500Mi or 100G";

/** A resource quantity such as 20Gi (Kubernetes syntax, not the cache config's 20GiB); above 0. */
export const quantity = z.union(
  [
    z.number().positive({ error: quantityExpectation }),
    z
      .string()
      .regex(/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/, {
        error: quantityExpectation,
      })
      .refine((text) => !/^0+(\.0+)?[A-Za-z]*$/.test(text), { error: quantityExpectation }),
  ],
  { error: quantityExpectation },
);

export const persistentVolumeClaimRetentionPolicies = ["Retain", "Delete"] as const;

/** A PersistentVolumeClaim template as in a StatefulSet (mirror-operator's volumeClaimTemplate). */
export const volumeClaimTemplate = z
  .strictObject({
    metadata: z
      .looseObject({
        labels: z
          .record(z.string(), z.string())
          .optional()
          .describe("Labels of the claims the StatefulSet makes."),
        annotations: z
          .record(z.string(), z.string())
          .optional()
          .describe("Annotations of the claims the StatefulSet makes."),
      })
      .optional()
      .describe(
        "Labels and annotations of the cache's claims (their name is set by the operator).",
      ),
    // The rest of a PVC spec is Kubernetes' to validate; the fields the operator reads are checked.
    spec: z
      .looseObject({
        accessModes: z
          .array(z.enum(["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]))
          .optional()
          .describe("How the volume may be mounted; default [ReadWriteOnce]."),
        storageClassName: z
          .string()
          .nullable()
          .optional()
          .describe("The StorageClass of the volume; the cluster's default class when left out."),
        volumeMode: z
          .enum(["Filesystem", "Block"])
          .optional()
          .describe("Filesystem (the cache needs a file system)."),
        resources: z
          .looseObject({
            requests: z
              .looseObject({
                storage: quantity
                  .optional()
                  .describe(
                    "The size of each cache volume, like 20Gi (default). The cache fills at most 90% of it unless maxSize says otherwise.",
                  ),
              })
              .optional()
              .describe("Requested resources: storage is the volume size."),
            limits: z
              .looseObject({
                storage: quantity.optional().describe("The largest size the volume may grow to."),
              })
              .optional()
              .describe("Resource limits of the claim."),
          })
          .optional()
          .describe("The size of the volume."),
      })
      .optional()
      .describe("A PersistentVolumeClaim spec, as in a StatefulSet's volumeClaimTemplates."),
  })
  .describe(
    "The cache's PersistentVolumeClaim template, as in a StatefulSet (default 20Gi, ReadWriteOnce, as mirror-operator). It cannot change once the mirror exists: a StatefulSet's claims are fixed. To use other volumes, delete the RegistryMirror and create it again.",
  );

const reasonExpectation = "a CamelCase reason like MinimumReplicasAvailable";

/** metav1.Condition. */
export const condition = z
  .strictObject({
    type: z.string().min(1).describe("The aspect the condition describes."),
    status: z.enum(["True", "False", "Unknown"]).describe("True, False or Unknown."),
    observedGeneration: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("The metadata.generation of the mirror the condition was set for."),
    lastTransitionTime: z.iso
      .datetime({
        offset: true,
        error: "an RFC 3339 time like 2026-11-22T00:00:00Z",
      })
      .describe("When status last changed."),
    reason: z
      .string({ error: reasonExpectation })
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, { error: reasonExpectation })
      .describe("Why, in one CamelCase word (also shown in the Reason column)."),
    message: z.string().max(32_768).describe("Why, for people: what to do about it."),
  })
  .describe("A condition of the mirror (metav1.Condition).");
