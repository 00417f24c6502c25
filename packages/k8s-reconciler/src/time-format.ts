/** metav1.MicroTime: RFC 3339 with microseconds, as Leases and events.k8s.io Events need. */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

/** Parses an RFC 3339 time; NaN when absent or malformed. */
export function parseTime(value: string | undefined): number {
  return value ? Date.parse(value) : Number.NaN;
}
