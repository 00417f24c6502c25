const durationPattern = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/;
const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of "500ms", "60s", "5m", "1h"; undefined for anything else. */
export function parseDuration(value: string): number | undefined {
  const match = durationPattern.exec(value.trim());
  if (!match) return undefined;
  const milliseconds = Number(match[1]) * unitMs[match[2] as keyof typeof unitMs];
  return Number.isFinite(milliseconds) ? Math.round(milliseconds) : undefined;
}
