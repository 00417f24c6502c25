/** A status condition as in metav1.Condition. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  /** RFC 3339; moves only when `status` changes. */
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Omit<Condition, "lastTransitionTime"> & {
  lastTransitionTime?: string;
};

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function formatTime(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/**
 * Returns `conditions` with `input` set (a new array; the input is not changed). The
 * lastTransitionTime is kept when the status did not change, so it tells when the condition
 * last flipped, not when the controller last looked; otherwise it is `nowMs`.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  nowMs: number,
): Condition[] {
  const current = conditions ?? [];
  const existing = current.find((condition) => condition.type === input.type);
  const lastTransitionTime =
    existing && existing.status === input.status
      ? existing.lastTransitionTime
      : (input.lastTransitionTime ?? formatTime(nowMs));
  const next: Condition = { ...input, lastTransitionTime };
  if (!existing) return [...current, next];
  return current.map((condition) => (condition.type === input.type ? next : condition));
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

export function isConditionTrue(
  conditions: readonly Condition[] | undefined,
  type: string,
): boolean {
  return findCondition(conditions, type)?.status === "True";
}

export function removeCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}
