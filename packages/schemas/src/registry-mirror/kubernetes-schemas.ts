import { z } from "zod";

// Small Kubernetes API types, validated the way the API server would, so a bad spec is reported
// with the field path before the operator creates anything.

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

const labelKey = z
  .string({ error: labelKeyExpectation })
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    { error: labelKeyExpectation },
  );

const labelValue = z
  .string({ error: labelValueExpectation })
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, { error: labelValueExpectation });

export const nodeSelector = z.record(labelKey, labelValue, {
  error: 'a mapping of node label keys to values, like dtr.cache: "true"',
});

export const toleration = z.strictObject({
  key: labelKey.optional(),
  operator: z.enum(["Exists", "Equal"]).optional(),
  value: labelValue.optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
  tolerationSeconds: z.number().int().optional(),
});

const quantityExpectation = "a Kubernetes quantity like 20Gi, 500Mi or 100G";

/** A resource quantity such as 20Gi (Kubernetes syntax, not the cache config's 20GiB). */
export const quantity = z.union(
  [
    z.number().nonnegative(),
    z.string().regex(/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/, {
      error: quantityExpectation,
    }),
  ],
  { error: quantityExpectation },
);

/** A PersistentVolumeClaim template as in a StatefulSet (mirror-operator's volumeClaimTemplate). */
export const volumeClaimTemplate = z.strictObject({
  metadata: z
    .looseObject({
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  // The rest of a PVC spec is Kubernetes' to validate; the fields the operator reads are checked.
  spec: z
    .looseObject({
      accessModes: z
        .array(z.enum(["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]))
        .optional(),
      storageClassName: z.string().nullable().optional(),
      volumeMode: z.enum(["Filesystem", "Block"]).optional(),
      resources: z
        .looseObject({
          requests: z.looseObject({ storage: quantity.optional() }).optional(),
          limits: z.looseObject({ storage: quantity.optional() }).optional(),
        })
        .optional(),
    })
    .optional(),
});

const reasonExpectation = "a CamelCase reason like MinimumReplicasAvailable";

/** metav1.Condition. */
export const condition = z.strictObject({
  type: z.string().min(1),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.number().int().nonnegative().optional(),
  lastTransitionTime: z.iso.datetime({
    offset: true,
    error: "an RFC 3339 time like 2026-11-22T00:00:00Z",
  }),
  reason: z
    .string({ error: reasonExpectation })
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, { error: reasonExpectation }),
  message: z.string().max(32_768),
});
